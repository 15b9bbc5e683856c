import { assertSignal } from "./_util.ts";
import { NurseryImpl } from "./_nursery.ts";
import type { Task } from "./task.ts";

/**
 * Options for one child started with {@linkcode Nursery.go}.
 *
 * @example A prefetch that can be abandoned without stopping its siblings
 * ```ts
 * import { type ChildOptions, goScope, sleep } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const page = await goScope(async (nursery) => {
 *   const prefetch = new AbortController();
 *   const options: ChildOptions = { signal: prefetch.signal };
 *   const slow = nursery.go((signal) => sleep(60_000, { signal }), options);
 *   const main = nursery.go(() => "page");
 *   prefetch.abort(new Error("User navigated away"));
 *   await assert.rejects(slow, { message: "User navigated away" });
 *   return await main;
 * });
 * assert.equal(page, "page");
 * ```
 */
export interface ChildOptions {
  /**
   * Gives the child a signal of its own, which aborts when this signal does
   * (same reason), when the nursery is cancelled, or when the child's
   * handle is cancelled ({@linkcode Task.cancel}); its siblings carry on. An
   * already-aborted signal starts nothing and the handle rejects with its
   * reason. Without it, the child shares the nursery's signal.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Options shared by every scope: {@linkcode goScope},
 * {@linkcode goSupervisor}, {@linkcode goScopeTimeout} and
 * {@linkcode openNursery}.
 *
 * @example Cancelling a whole scope from a parent signal
 * ```ts
 * import { goScope, type ScopeOptions, sleep } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const shutdown = new AbortController();
 * const options: ScopeOptions = { signal: shutdown.signal };
 * const workers = goScope((nursery) => {
 *   nursery.go((signal) => sleep(60_000, { signal }));
 *   nursery.go((signal) => sleep(60_000, { signal }));
 * }, options);
 *
 * const reason = new Error("Shutting down");
 * shutdown.abort(reason);
 * await assert.rejects(workers, (error) => error === reason); // after both children stopped
 * ```
 */
export interface ScopeOptions {
  /**
   * A parent signal whose abort cancels the scope; its reason reaches every
   * child unchanged and the scope rejects with it. An already-aborted signal
   * means the body never runs.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * A set of running children that all settle before the scope that owns the
 * nursery returns. Get one from {@linkcode goScope}, {@linkcode goSupervisor},
 * {@linkcode goScopeTimeout} or {@linkcode openNursery}.
 *
 * @example Start two children and wait for both
 * ```ts
 * import { goScope } from "@quartz/std/concurrency";
 *
 * const sum = await goScope(async (nursery) => {
 *   const a = nursery.go(async () => 1);
 *   const b = nursery.go(async () => 2);
 *   return (await a) + (await b);
 * });
 * console.log(sum); // 3
 * ```
 */
export interface Nursery extends AsyncDisposable {
  /**
   * Aborts when the scope is cancelled: a failure (an AbortError whose
   * `cause` is the failure), the parent signal (its reason), the deadline
   * (a TimeoutError) or {@linkcode Nursery.cancel}.
   */
  readonly signal: AbortSignal;
  /**
   * Starts a child. `fn` receives the child's signal: the nursery's own,
   * shared by every child (which keeps a child cheap), or one of the child's
   * own when `options.signal` is given. The call never throws for what `fn`
   * does: a synchronous throw becomes the child's failure. While the scope
   * is cancelling, it starts nothing and the handle rejects with the
   * scope's reason.
   *
   * @typeParam T The child's value.
   * @param fn The child's work.
   * @param options A signal that cancels this child alone.
   * @returns The child's handle; await it for the value.
   * @throws {TypeError} If `fn` is not a function or the nursery has settled.
   */
  go<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ChildOptions,
  ): Task<T>;
  /**
   * Exits early: aborts every child's signal with `reason` and lets the scope
   * resolve normally once they settle. Not a failure.
   *
   * @param reason Why; defaults to a DOMException named AbortError.
   */
  cancel(reason?: unknown): void;
}

/**
 * Opens a nursery for `await using`: leaving the block joins it like
 * {@linkcode goScope} does, waiting for every child and rethrowing their
 * failure. The block itself is the body: a child failure aborts
 * `nursery.signal`, so the block's own awaits on it are cancelled too.
 *
 * Disposal cannot see an exception thrown by the block, so such an exception
 * does not cancel the children: cancel them first (`nursery.cancel()`) if the
 * block may throw while children run. If both fail, JavaScript reports a
 * SuppressedError holding both.
 *
 * @param options A parent signal.
 * @returns The nursery; dispose it (or leave the `await using` block) to join.
 * @throws {unknown} The parent signal's reason, if it is already aborted:
 * the block never runs.
 * @throws {TypeError} If `options.signal` is not an AbortSignal.
 *
 * @example Children that cannot outlive a block
 * ```ts
 * import { openNursery, sleep } from "@quartz/std/concurrency";
 *
 * const seen: number[] = [];
 * {
 *   await using nursery = openNursery();
 *   nursery.go((signal) => sleep(5, { signal }).then(() => seen.push(1)));
 *   nursery.go(() => seen.push(2));
 * }
 * console.log(seen.length); // 2
 * ```
 */
export function openNursery(options: ScopeOptions = {}): Nursery {
  const signal = options.signal;
  assertSignal(signal, "openNursery signal");
  signal?.throwIfAborted();
  return new NurseryImpl(signal);
}
