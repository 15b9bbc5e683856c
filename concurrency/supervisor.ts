import { assertBody, assertSignal } from "./_util.ts";
import { COLLECT, NurseryImpl } from "./_nursery.ts";
import { runBody } from "./_run.ts";
import type { Nursery, ScopeOptions } from "./nursery.ts";

/** Options for {@linkcode goSupervisor}. */
export interface SupervisorOptions extends ScopeOptions {
  /**
   * Receives each child failure as it happens, instead of collecting it in
   * {@linkcode SupervisorResult.failures}: a long-lived supervisor (a server
   * of connections) should pass one so failures do not pile up in memory.
   * If it throws, that error is the supervisor's own failure and cancels
   * every child.
   *
   * @default {undefined}
   */
  onFailure?: (error: unknown) => void;
}

/** What {@linkcode goSupervisor} resolves with. */
export interface SupervisorResult<T> {
  /** The body's value (`undefined` if `nursery.cancel()` interrupted it). */
  value: T;
  /**
   * Every child failure, in the order they happened; empty when
   * `onFailure` was given.
   */
  failures: unknown[];
}

/**
 * Like {@linkcode goScope}, but a child's failure never cancels its
 * siblings. Child failures are never unhandled and never lost: they are
 * handed to `options.onFailure` as they happen, or else collected and
 * returned in {@linkcode SupervisorResult.failures}. A failure of the body
 * itself still cancels every child; the supervisor then rejects with it
 * (an AggregateError, in order, if child failures were collected too).
 *
 * @typeParam T The body's value.
 * @param body Receives the nursery.
 * @param options A parent signal and a failure sink.
 * @returns The body's value and the collected child failures.
 * @throws {TypeError} If `body` or `options.onFailure` is not a function, or
 * `options.signal` is not an AbortSignal.
 *
 * @example Keep serving when one connection fails
 * ```ts
 * import { goSupervisor } from "@quartz/std/concurrency";
 *
 * const { failures } = await goSupervisor((nursery) => {
 *   nursery.go(() => "served");
 *   nursery.go(() => {
 *     throw new Error("Connection reset");
 *   });
 * });
 * console.log(failures.length); // 1
 * ```
 */
export function goSupervisor<T>(
  body: (nursery: Nursery) => T | PromiseLike<T>,
  options: SupervisorOptions = {},
): Promise<SupervisorResult<T>> {
  assertBody(body, "goSupervisor");
  const { signal, onFailure } = options;
  assertSignal(signal, "goSupervisor signal");
  if (onFailure !== undefined && typeof onFailure !== "function") {
    throw new TypeError(
      `Cannot use goSupervisor onFailure: expected a function, got ${typeof onFailure}`,
    );
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const nursery = new NurseryImpl(signal, onFailure ?? COLLECT);
  return runBody(nursery, body).then((value) => ({
    value,
    failures: nursery.childFailures,
  }));
}
