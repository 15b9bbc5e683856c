import { assertDuration, assertSignal } from "./_util.ts";

/**
 * Options for {@linkcode sleep}.
 *
 * @example A retry back-off that stops when the caller gives up
 * ```ts
 * import { sleep, type SleepOptions } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const giveUp = new AbortController();
 * const options: SleepOptions = { signal: giveUp.signal };
 * const backoff = sleep(30_000, options);
 *
 * giveUp.abort(new Error("Request cancelled"));
 * await assert.rejects(backoff, { message: "Request cancelled" }); // and the timer is cleared
 * ```
 */
export interface SleepOptions {
  /**
   * Cancels the sleep: it rejects with the signal's reason and its timer is
   * cleared. An already-aborted signal rejects at once.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Waits `ms` milliseconds, unless the signal aborts first.
 *
 * @param ms How long, in milliseconds.
 * @param options A signal that cancels the sleep.
 * @returns A promise that resolves after `ms`, or rejects with the signal's
 * reason (same identity) when it aborts.
 * @throws {RangeError} If `ms` is negative, not finite or past 2^31 - 1.
 * @throws {TypeError} If `ms` is not a number or `options.signal` is not an
 * AbortSignal.
 *
 * @example A cancellable pause
 * ```ts
 * import { sleep } from "@quartz/std/concurrency";
 *
 * const controller = new AbortController();
 * const pause = sleep(60_000, { signal: controller.signal });
 * controller.abort(new Error("Stop"));
 * await pause.catch((error) => console.log(error.message)); // "Stop"
 * ```
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  assertDuration(ms, "sleep ms");
  const signal = options.signal;
  assertSignal(signal, "sleep signal");
  if (signal === undefined) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
