import { assertBody, assertSignal } from "./_util.ts";
import { NurseryImpl } from "./_nursery.ts";
import { runBody } from "./_run.ts";
import type { Nursery, ScopeOptions } from "./nursery.ts";

/**
 * Runs `body` with a nursery and returns once the body and every child it
 * started have settled. Children may start more children until then.
 *
 * When a child or the body fails, every other child's signal aborts with a
 * DOMException named AbortError whose `cause` is the failure, and the scope
 * rejects with that very error once all have settled (several failures: an
 * AggregateError in the order they happened). A rejection caused by the
 * scope's own cancellation is never a failure. After
 * {@linkcode Nursery.cancel}, the scope resolves normally, with the body's
 * value, or `undefined` if the cancellation interrupted the body.
 *
 * @typeParam T The body's value.
 * @param body Receives the nursery; its value becomes the scope's value.
 * @param options A parent signal.
 * @returns The body's value, once every child has settled.
 * @throws {TypeError} If `body` is not a function or `options.signal` is not
 * an AbortSignal.
 *
 * @example Fetch two things concurrently; one failure cancels the other
 * ```ts
 * import { goScope, sleep } from "@quartz/std/concurrency";
 *
 * const [a, b] = await goScope(async (nursery) => {
 *   const a = nursery.go((signal) => sleep(10, { signal }).then(() => "a"));
 *   const b = nursery.go((signal) => sleep(20, { signal }).then(() => "b"));
 *   return [await a, await b];
 * });
 * console.log(a + b); // "ab"
 * ```
 */
export function goScope<T>(
  body: (nursery: Nursery) => T | PromiseLike<T>,
  options: ScopeOptions = {},
): Promise<T> {
  assertBody(body, "goScope");
  const signal = options.signal;
  assertSignal(signal, "goScope signal");
  if (signal?.aborted) return Promise.reject(signal.reason);
  return runBody(new NurseryImpl(signal), body);
}
