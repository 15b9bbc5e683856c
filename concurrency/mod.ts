/**
 * Structured concurrency: nurseries in which no task outlives the scope that
 * started it, a failure cancels its siblings, and cancellation reaches every
 * await through an AbortSignal. Cheap enough for one nursery per connection.
 * Uses no `Deno.*` API, so it runs on Deno, Node, Bun and browsers.
 *
 * - {@linkcode goScope}: a nursery; returns once every child has settled.
 * - {@linkcode goSupervisor}: child failures are collected, not fatal.
 * - {@linkcode goScopeTimeout}: a nursery bounded by a deadline.
 * - {@linkcode goRace}: the first to settle wins; the losers are cancelled
 *   and awaited.
 * - {@linkcode openNursery}: a nursery for `await using`.
 * - {@linkcode go}, {@linkcode goCancellable}, {@linkcode CancelToken}: the
 *   detached spawn, whose failure is reported, never lost.
 * - {@linkcode sleep}, {@linkcode deadline}: cancellable waiting.
 *
 * @example A failure cancels the siblings
 * ```ts
 * import { goScope, sleep } from "@quartz/std/concurrency";
 *
 * const failure = new Error("Upstream failed");
 * try {
 *   await goScope((nursery) => {
 *     nursery.go((signal) => sleep(60_000, { signal })); // cancelled
 *     nursery.go(() => {
 *       throw failure;
 *     });
 *   });
 * } catch (error) {
 *   console.log(error === failure); // true
 * }
 * ```
 *
 * @module
 */
export { CancelToken, type CancelTokenOptions } from "./cancel_token.ts";
export { deadline, type DeadlineOptions } from "./deadline.ts";
export { go, goCancellable, type GoOptions } from "./go.ts";
export {
  type ChildOptions,
  type Nursery,
  openNursery,
  type ScopeOptions,
} from "./nursery.ts";
export { goRace } from "./race.ts";
export { goScope } from "./scope.ts";
export { goScopeTimeout } from "./scope_timeout.ts";
export { sleep, type SleepOptions } from "./sleep.ts";
export {
  goSupervisor,
  type SupervisorOptions,
  type SupervisorResult,
} from "./supervisor.ts";
export type { Task } from "./task.ts";
