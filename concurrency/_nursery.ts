import { abortError, ignore, isCancellation } from "./_util.ts";
import { call } from "./_run.ts";
import { TaskImpl } from "./_task.ts";
import type { ChildOptions, Nursery } from "./nursery.ts";
import type { Task } from "./task.ts";

/** Why the scope was cancelled first. */
const BY_NOTHING = 0;
/** `nursery.cancel()`: an early exit, not a failure. */
const BY_USER = 1;
/** A child or the body failed; the failure is already recorded. */
const BY_FAILURE = 2;
/** The parent signal or the deadline: the reason is itself the outcome. */
const BY_OUTSIDE = 3;

/** How a supervisor hands over a child's failure. */
export type FailureSink = (error: unknown) => void;

/** A supervisor that keeps child failures for its result. */
export const COLLECT: unique symbol = Symbol("collect");

/**
 * The one nursery implementation behind every scope. The per-child path is
 * kept to a counter, one handle and one `then`: children share the
 * nursery's signal unless they can use one of their own.
 */
export class NurseryImpl implements Nursery {
  readonly #controller = new AbortController();
  #pending = 0;
  #bodyDone = false;
  #settled = false;
  #cause = BY_NOTHING;
  #reason: unknown = undefined;
  readonly #failures: unknown[] = [];
  /** Children with their own controller, aborted when the scope cancels. */
  #own: Set<AbortController> | undefined = undefined;
  readonly #supervise: FailureSink | typeof COLLECT | undefined;
  /** Where the outside reason goes among the failures, in time order. */
  #outsideAt = 0;
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #value: unknown = undefined;
  #resolve: ((value: unknown) => void) | undefined = undefined;
  #reject: ((reason: unknown) => void) | undefined = undefined;
  #joined: Promise<unknown> | undefined = undefined;

  /**
   * @param parent The parent signal; the caller has checked it is not aborted.
   * @param supervise Where child failures go in a supervisor (COLLECT keeps
   * them for {@linkcode NurseryImpl.childFailures}); undefined in a plain
   * scope, where they cancel the siblings.
   */
  constructor(
    parent?: AbortSignal,
    supervise?: FailureSink | typeof COLLECT,
  ) {
    this.#supervise = supervise;
    if (parent !== undefined) {
      this.#parent = parent;
      this.#onParentAbort = () => this.#cancel(parent.reason, BY_OUTSIDE);
      parent.addEventListener("abort", this.#onParentAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Arms the deadline; the scope rejects with `error` when it passes. */
  setDeadline(ms: number, error: () => unknown): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#cancel(error(), BY_OUTSIDE);
    }, ms);
  }

  go<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ChildOptions,
  ): Task<T> {
    if (this.#settled) {
      throw new TypeError("Cannot start a child: the nursery has settled");
    }
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot start a child: expected a function, got ${typeof fn}`,
      );
    }
    const shared = this.#controller.signal;
    const childSignal = options?.signal;
    if (shared.aborted || childSignal?.aborted) {
      // Cancelling: start nothing. The nursery does not own this rejection,
      // so it is marked handled; awaiting the handle still sees it.
      const refused = Promise.reject(
        shared.aborted ? shared.reason : childSignal!.reason,
      );
      refused.catch(ignore);
      return new TaskImpl<T>(refused, undefined);
    }
    // Without a signal of its own, the child shares the nursery's: no
    // controller, no closures, one shared `then`. A controller per child
    // would make cancelling N children cost N abort events instead of one.
    if (childSignal === undefined) {
      this.#pending++;
      const outcome = call(fn, shared);
      outcome.then(this.#onSettled, this.#onRejected);
      return new TaskImpl<T>(outcome, undefined);
    }
    return this.#goOwn(fn, childSignal);
  }

  /** Starts a child with a controller of its own, linked to `childSignal`. */
  #goOwn<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    childSignal: AbortSignal,
  ): Task<T> {
    const controller = new AbortController();
    const own = this.#own ??= new Set();
    own.add(controller);
    const onChildAbort = (): void => controller.abort(childSignal.reason);
    childSignal.addEventListener("abort", onChildAbort, { once: true });
    this.#pending++;
    const outcome = call(fn, controller.signal);
    const release = (): void => {
      own.delete(controller);
      childSignal.removeEventListener("abort", onChildAbort);
    };
    outcome.then(
      () => {
        release();
        this.#onSettled();
      },
      (error) => {
        release();
        if (!isCancellation(controller.signal, error)) this.#fail(error, true);
        this.#onSettled();
      },
    );
    return new TaskImpl<T>(outcome, controller);
  }

  readonly #onSettled = (): void => {
    if (--this.#pending === 0 && this.#bodyDone) this.#finish();
  };

  readonly #onRejected = (error: unknown): void => {
    // The cached reason spares a trip through the AbortSignal getters for
    // each of many cancelled children.
    if (
      this.#cause === BY_NOTHING ||
      (error !== this.#reason &&
        !isCancellation(this.#controller.signal, error))
    ) {
      this.#fail(error, true);
    }
    this.#onSettled();
  };

  cancel(reason?: unknown): void {
    this.#cancel(
      reason === undefined ? abortError("The nursery was cancelled") : reason,
      BY_USER,
    );
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.join(undefined) as Promise<void>;
  }

  /**
   * Marks the body done with `value` and returns the scope's outcome: it
   * settles once every child has.
   */
  join(value: unknown): Promise<unknown> {
    if (this.#joined === undefined) {
      this.#joined = new Promise((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
      this.#value = value;
      this.#bodyDone = true;
      if (this.#pending === 0) this.#finish();
    }
    return this.#joined;
  }

  /** The body rejected: a failure unless it was this scope's cancellation. */
  bodyRejected(error: unknown): Promise<unknown> {
    if (!isCancellation(this.#controller.signal, error)) {
      this.#fail(error, false);
    }
    return this.join(undefined);
  }

  #fail(error: unknown, child: boolean): void {
    // In a supervisor, a child failure stays the child's own, unless the
    // body already failed: then it is cleanup of a failed scope.
    if (child && this.#supervise !== undefined && this.#cause !== BY_FAILURE) {
      if (this.#supervise === COLLECT) {
        this.#failures.push(error);
        return;
      }
      try {
        this.#supervise(error);
      } catch (sinkError) {
        this.#fail(sinkError, false);
      }
      return;
    }
    this.#failures.push(error);
    this.#cancel(abortError("A task in the nursery failed", error), BY_FAILURE);
  }

  #cancel(reason: unknown, cause: number): void {
    if (this.#controller.signal.aborted || this.#settled) return;
    this.#cause = cause;
    this.#reason = reason;
    this.#outsideAt = this.#failures.length;
    this.#clearTimer();
    this.#controller.abort(reason);
    if (this.#own !== undefined) {
      for (const controller of this.#own) controller.abort(reason);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #finish(): void {
    this.#settled = true;
    this.#clearTimer();
    if (this.#parent !== undefined) {
      this.#parent.removeEventListener("abort", this.#onParentAbort!);
    }
    const errors = this.#failures;
    if (this.#cause === BY_OUTSIDE) {
      errors.splice(this.#outsideAt, 0, this.#controller.signal.reason);
    } else if (this.#supervise !== undefined && this.#cause !== BY_FAILURE) {
      // A supervisor's collected child failures are its result, not its error.
      this.#resolve!(this.#value);
      return;
    }
    if (errors.length === 0) this.#resolve!(this.#value);
    else if (errors.length === 1) this.#reject!(errors[0]);
    else {
      this.#reject!(
        new AggregateError(errors, `${errors.length} errors in the nursery`),
      );
    }
  }

  /** The child failures a COLLECT supervisor kept, in order. */
  get childFailures(): unknown[] {
    return this.#failures;
  }
}
