import {
  assertBody,
  assertDuration,
  assertSignal,
  timeoutError,
} from "./_util.ts";
import { NurseryImpl } from "./_nursery.ts";
import { runBody } from "./_run.ts";
import type { Nursery, ScopeOptions } from "./nursery.ts";

/**
 * A {@linkcode goScope} bounded by a deadline. When `ms` passes, every
 * child's signal aborts with a DOMException named TimeoutError (the shape
 * `AbortSignal.timeout` gives) and the scope rejects with it once they have
 * settled. A failure before the deadline wins over it, and the timer is
 * cleared as soon as the scope ends or is cancelled. Nested deadlines: pass
 * the outer `nursery.signal` as `options.signal` and the nearer one applies.
 *
 * @typeParam T The body's value.
 * @param ms The deadline, in milliseconds from now.
 * @param body Receives the nursery.
 * @param options A parent signal.
 * @returns The body's value, once every child has settled.
 * @throws {RangeError} If `ms` is negative, not finite or past 2^31 - 1.
 * @throws {TypeError} If `ms` is not a number, `body` is not a function or
 * `options.signal` is not an AbortSignal.
 *
 * @example Give up on slow work after 100 ms
 * ```ts
 * import { goScopeTimeout, sleep } from "@quartz/std/concurrency";
 *
 * try {
 *   await goScopeTimeout(100, (nursery) => {
 *     nursery.go((signal) => sleep(60_000, { signal }));
 *   });
 * } catch (error) {
 *   console.log((error as DOMException).name); // "TimeoutError"
 * }
 * ```
 */
export function goScopeTimeout<T>(
  ms: number,
  body: (nursery: Nursery) => T | PromiseLike<T>,
  options: ScopeOptions = {},
): Promise<T> {
  assertDuration(ms, "goScopeTimeout ms");
  assertBody(body, "goScopeTimeout");
  const signal = options.signal;
  assertSignal(signal, "goScopeTimeout signal");
  if (signal?.aborted) return Promise.reject(signal.reason);
  const nursery = new NurseryImpl(signal);
  nursery.setDeadline(ms, () => timeoutError(ms));
  return runBody(nursery, body);
}
