import { assertBody, assertSignal } from "./_util.ts";
import { COLLECT, NurseryImpl } from "./_nursery.ts";
import { runBody } from "./_run.ts";
import type { Nursery, ScopeOptions } from "./nursery.ts";

/**
 * Options for {@linkcode goSupervisor}.
 *
 * @example Logging failures as they happen instead of collecting them
 * ```ts
 * import { goSupervisor, type SupervisorOptions } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const logged: string[] = [];
 * const options: SupervisorOptions = {
 *   onFailure: (error) => logged.push((error as Error).message),
 * };
 * const { failures } = await goSupervisor((nursery) => {
 *   nursery.go(() => {
 *     throw new Error("Connection 1 reset");
 *   });
 *   nursery.go(() => "connection 2 served");
 * }, options);
 *
 * assert.deepEqual(logged, ["Connection 1 reset"]);
 * assert.equal(failures.length, 0); // nothing piles up in memory
 * ```
 */
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

/**
 * What {@linkcode goSupervisor} resolves with.
 *
 * @example Reading the value and the failures of a batch
 * ```ts
 * import { goSupervisor, type SupervisorResult } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const result: SupervisorResult<string> = await goSupervisor((nursery) => {
 *   nursery.go(() => "job 1 done");
 *   nursery.go(() => {
 *     throw new Error("Job 2 failed");
 *   });
 *   return "batch started";
 * });
 *
 * assert.equal(result.value, "batch started");
 * assert.equal(result.failures.length, 1);
 * assert.equal((result.failures[0] as Error).message, "Job 2 failed");
 * ```
 */
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
