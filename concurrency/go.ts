import { assertSignal, ignore, isCancellation } from "./_util.ts";
import { TaskImpl } from "./_task.ts";
import { CancelToken } from "./cancel_token.ts";
import type { Task } from "./task.ts";

/**
 * Options for {@linkcode go} and {@linkcode goCancellable}.
 *
 * @example A background refresh whose failures go to a log
 * ```ts
 * import { go, type GoOptions } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const logged: unknown[] = [];
 * const options: GoOptions = { onError: (error) => logged.push(error) };
 * // deno-lint-ignore quartz/no-bare-go
 * const refresh = go(async () => {
 *   throw new Error("Cache refresh failed");
 * }, options);
 *
 * await refresh.catch(() => {}); // wait for it to settle
 * assert.equal((logged[0] as Error).message, "Cache refresh failed");
 * ```
 */
export interface GoOptions {
  /**
   * Cancels the task: its signal aborts with the same reason. An
   * already-aborted signal starts nothing and the handle rejects with it.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Receives every failure of the task (a cancellation is not one). Without
   * it, a failure that nothing awaits surfaces as an unhandled rejection,
   * as a Promise's would.
   *
   * @default {undefined}
   */
  onError?: (error: unknown) => void;
}

/**
 * A handle whose unobserved failure surfaces like a Promise's: as an
 * unhandled rejection, unless something awaits the handle within the same
 * turn of the event loop.
 */
class DetachedTask<T> extends TaskImpl<T> {
  #observed = false;
  #alarm: Promise<never> | undefined = undefined;

  /** Raises `error` as an unhandled rejection unless the handle is awaited. */
  raise(error: unknown): void {
    if (!this.#observed) this.#alarm = Promise.reject(error);
  }

  #observe(): void {
    this.#observed = true;
    this.#alarm?.catch(ignore);
    this.#alarm = undefined;
  }

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.#observe();
    return super.then(onFulfilled, onRejected);
  }

  override catch<R = never>(
    onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<T | R> {
    this.#observe();
    return super.catch(onRejected);
  }

  override finally(onFinally?: (() => void) | null): Promise<T> {
    this.#observe();
    return super.finally(onFinally);
  }
}

/**
 * Starts `fn` detached: no scope waits for it. This is the unstructured
 * escape hatch; prefer a nursery ({@linkcode goScope}), and see the
 * `no-bare-go` lint rule. Its failure is never silently lost: it goes to
 * `options.onError` when given; otherwise it rejects the handle, and if
 * nothing awaits the handle it surfaces as an unhandled rejection, as a
 * Promise's would. A cancellation is never reported.
 *
 * @typeParam T The task's value.
 * @param fn The work; receives the task's signal.
 * @param options A cancelling signal and a failure sink.
 * @returns The task's handle.
 * @throws {TypeError} If `fn` or `options.onError` is not a function, or
 * `options.signal` is not an AbortSignal.
 *
 * @example Fire and forget, with failures reported
 * ```ts
 * import { go } from "@quartz/std/concurrency";
 *
 * // deno-lint-ignore quartz/no-bare-go
 * const task = go(async () => 40 + 2, { onError: console.error });
 * console.log(await task); // 42
 * ```
 */
export function go<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: GoOptions = {},
): Task<T> {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run go: expected a function, got ${typeof fn}`);
  }
  const { signal, onError } = options;
  assertSignal(signal, "go signal");
  if (onError !== undefined && typeof onError !== "function") {
    throw new TypeError(
      `Cannot use go onError: expected a function, got ${typeof onError}`,
    );
  }
  if (signal?.aborted) {
    const refused = Promise.reject(signal.reason);
    refused.catch(ignore);
    return new TaskImpl<T>(refused, undefined);
  }
  const controller = new AbortController();
  const onAbort = signal === undefined
    ? undefined
    : () => controller.abort(signal.reason);
  if (onAbort !== undefined) {
    signal!.addEventListener("abort", onAbort, { once: true });
  }
  let outcome: Promise<T>;
  try {
    outcome = Promise.resolve(fn(controller.signal));
  } catch (error) {
    outcome = Promise.reject(error);
  }
  const task = new DetachedTask<T>(outcome, controller);
  outcome.then(
    () => {
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
    },
    (error) => {
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      if (isCancellation(controller.signal, error)) return;
      if (onError === undefined) task.raise(error);
      else {
        try {
          onError(error);
        } catch (sinkError) {
          task.raise(sinkError);
        }
      }
    },
  );
  return task;
}

/**
 * Starts `fn` detached, cancelled by `token`: {@linkcode go} with
 * `token.signal`.
 *
 * @typeParam T The task's value.
 * @param fn The work; receives a signal that aborts with the token.
 * @param token Cancels the task.
 * @returns The task's handle.
 * @throws {TypeError} If `fn` is not a function or `token` is not a
 * {@linkcode CancelToken}.
 *
 * @example Cancel a background task
 * ```ts
 * import { CancelToken, goCancellable, sleep } from "@quartz/std/concurrency";
 *
 * const token = new CancelToken();
 * const task = goCancellable((signal) => sleep(60_000, { signal }), token);
 * token.cancel(new Error("No longer needed"));
 * await task.catch((error) => console.log(error.message)); // "No longer needed"
 * ```
 */
export function goCancellable<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  token: CancelToken,
): Task<T> {
  if (!(token instanceof CancelToken)) {
    throw new TypeError(
      `Cannot run goCancellable: expected a CancelToken, got ${typeof token}`,
    );
  }
  // deno-lint-ignore quartz/no-bare-go
  return go(fn, { signal: token.signal });
}
