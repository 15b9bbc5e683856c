import { abortError, assertSignal, isCancellation } from "./_util.ts";
import { NurseryImpl } from "./_nursery.ts";
import type { ScopeOptions } from "./nursery.ts";

/**
 * Runs `tasks` concurrently; the first to settle wins, fulfilled or
 * rejected. The losers' signals abort with a DOMException named AbortError
 * and they are awaited before `goRace` returns; their cancellation is never
 * unhandled. Ties give exactly one winner. If a loser fails with anything
 * but its cancellation, that error is not lost: `goRace` rejects with it
 * (after a rejected winner, in an AggregateError).
 *
 * @typeParam T The tasks' value.
 * @param tasks Functions that each receive a signal.
 * @param options A parent signal; its abort cancels every task.
 * @returns The winner's value, or its rejection.
 * @throws {TypeError} If `tasks` is not an iterable of functions or
 * `options.signal` is not an AbortSignal.
 * @throws {RangeError} If `tasks` is empty.
 *
 * @example The faster of two
 * ```ts
 * import { goRace, sleep } from "@quartz/std/concurrency";
 *
 * const winner = await goRace([
 *   (signal) => sleep(10, { signal }).then(() => "fast"),
 *   (signal) => sleep(60_000, { signal }).then(() => "slow"),
 * ]);
 * console.log(winner); // "fast"
 * ```
 */
export function goRace<T>(
  tasks: Iterable<(signal: AbortSignal) => T | PromiseLike<T>>,
  options: ScopeOptions = {},
): Promise<T> {
  if (typeof (tasks as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(
      `Cannot run goRace: expected an iterable of functions, got ${typeof tasks}`,
    );
  }
  const fns = Array.from(tasks);
  if (fns.length === 0) {
    throw new RangeError("Cannot run goRace with 0 tasks: nothing could win");
  }
  for (const fn of fns) {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run goRace: expected a function, got ${typeof fn}`,
      );
    }
  }
  const signal = options.signal;
  assertSignal(signal, "goRace signal");
  if (signal?.aborted) return Promise.reject(signal.reason);

  const nursery = new NurseryImpl(signal);
  const shared = nursery.signal;
  let won = false;
  let fulfilled = false;
  let outcome: unknown;
  const win = (ok: boolean, value: unknown): void => {
    won = true;
    fulfilled = ok;
    outcome = value;
    nursery.cancel(abortError("The task lost the race"));
  };
  for (const fn of fns) {
    // The wrapper reads the shared signal rather than declaring a
    // parameter, so racers cost no controller of their own.
    nursery.go(async () => {
      try {
        const value = await fn(shared);
        if (!won) win(true, value);
      } catch (error) {
        // Lost the race, or the parent cancelled it: not an outcome.
        if (isCancellation(shared, error)) return;
        if (!won) win(false, error);
        else throw error;
      }
    });
  }
  return nursery.join(undefined).then(
    () => {
      if (fulfilled) return outcome as T;
      throw outcome;
    },
    (error) => {
      if (!won || fulfilled) throw error;
      const cleanup = error instanceof AggregateError ? error.errors : [error];
      throw new AggregateError(
        [outcome, ...cleanup],
        `${1 + cleanup.length} errors in the race`,
      );
    },
  );
}
