/**
 * The handle of a started child, usable as a Promise of its value: await it for the child's value, or cancel
 * that child on its own (see {@linkcode Task.cancel}).
 *
 * A handle nobody awaits costs next to nothing and never causes an
 * unhandled rejection: the nursery handles the child's outcome.
 *
 * @typeParam T The child's value.
 *
 * @example Await one child and cancel another
 * ```ts
 * import { goScope, sleep } from "@quartz/std/concurrency";
 *
 * const value = await goScope(async (nursery) => {
 *   const slow = nursery.go((signal) => sleep(60_000, { signal }), {
 *     signal: new AbortController().signal, // gives it a signal of its own
 *   });
 *   const fast = nursery.go(() => 42);
 *   slow.cancel();
 *   return await fast;
 * });
 * console.log(value); // 42
 * ```
 */
export interface Task<T> extends Promise<T> {
  /**
   * Cancels this child alone; its siblings carry on. From now on, awaiting
   * the handle rejects with `reason` once the child has settled.
   *
   * A child started with `{ signal }` has a signal of its own, and `cancel`
   * aborts it with `reason`: the child stops, and its rejection with that
   * reason is a cancellation, not a failure. A child started without one
   * shares the nursery's signal (which keeps it cheap), so `cancel` cannot
   * interrupt it: it runs to its end. Pass `{ signal }` to a child you may
   * want to interrupt alone.
   *
   * @param reason Why; defaults to a DOMException named AbortError.
   */
  cancel(reason?: unknown): void;
}
