import type { NurseryImpl } from "./_nursery.ts";
import type { Nursery } from "./nursery.ts";

/** Calls a child, turning a synchronous throw into its rejection. */
export function call<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  signal: AbortSignal,
): Promise<T> {
  try {
    const result = fn(signal);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs `body` in `nursery` and returns the scope's outcome. The body counts
 * as one more task: the scope settles once it and every child have.
 */
export function runBody<T>(
  nursery: NurseryImpl,
  body: (nursery: Nursery) => T | PromiseLike<T>,
): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = body(nursery);
  } catch (error) {
    return nursery.bodyRejected(error) as Promise<T>;
  }
  return Promise.resolve(result).then(
    (value) => nursery.join(value),
    (error) => nursery.bodyRejected(error),
  ) as Promise<T>;
}
