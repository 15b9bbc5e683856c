import { assertDuration, assertSignal, timeoutError } from "./_util.ts";

/**
 * Options for {@linkcode deadline}.
 *
 * @example A deadline that shutdown can cut short
 * ```ts
 * import { deadline, type DeadlineOptions, sleep } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const options: DeadlineOptions = { signal: shutdown.signal };
 * // At most 5 s of work, unless the service shuts down first.
 * const work = deadline((signal) => sleep(60_000, { signal }), 5000, options);
 *
 * const reason = new Error("Shutting down");
 * shutdown.abort(reason);
 * await assert.rejects(work, (error) => error === reason);
 * ```
 */
export interface DeadlineOptions {
  /**
   * Cancels the wait: `deadline` rejects with the signal's reason, and a
   * function's own signal aborts with it. An already-aborted signal rejects
   * at once and never calls the function.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Bounds a promise, or a function of a signal, by `ms` milliseconds. Given a
 * function, `deadline` calls it with a signal that aborts with the
 * TimeoutError (or the parent's reason), so the work can stop. The result
 * rejects at the deadline without waiting for the work; the work's late
 * outcome is handled, never unhandled. Use {@linkcode goScopeTimeout} to
 * also wait for the work to settle.
 *
 * @typeParam T The value.
 * @param task A promise, or a function that receives a signal.
 * @param ms The deadline, in milliseconds from now.
 * @param options A signal that cancels the wait.
 * @returns The task's value, or a rejection with a DOMException named
 * TimeoutError when `ms` passes first.
 * @throws {RangeError} If `ms` is negative, not finite or past 2^31 - 1.
 * @throws {TypeError} If `ms` is not a number, `task` is neither a
 * promise-like nor a function, or `options.signal` is not an AbortSignal.
 *
 * @example Bound a cancellable operation
 * ```ts
 * import { deadline, sleep } from "@quartz/std/concurrency";
 *
 * try {
 *   await deadline((signal) => sleep(60_000, { signal }), 50);
 * } catch (error) {
 *   console.log((error as DOMException).name); // "TimeoutError"
 * }
 * ```
 */
export function deadline<T>(
  task: PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>),
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const isFunction = typeof task === "function";
  if (!isFunction && typeof (task as PromiseLike<T>)?.then !== "function") {
    throw new TypeError(
      `Cannot use deadline: expected a promise or a function, got ${typeof task}`,
    );
  }
  assertDuration(ms, "deadline ms");
  const signal = options.signal;
  assertSignal(signal, "deadline signal");
  if (signal?.aborted) return Promise.reject(signal.reason);
  const controller = isFunction ? new AbortController() : undefined;
  let work: PromiseLike<T> | T;
  try {
    work = isFunction ? task(controller!.signal) : task;
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<T>((resolve, reject) => {
    const stop = (reason: unknown): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      controller?.abort(reason);
      reject(reason);
    };
    const onAbort = (): void => stop(signal!.reason);
    const timer = setTimeout(() => stop(timeoutError(ms)), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(work).then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
