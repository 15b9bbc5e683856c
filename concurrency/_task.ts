import { abortError } from "./_util.ts";
import type { Task } from "./task.ts";

/** The sentinel for "not cancelled". */
const NONE: unique symbol = Symbol("none");

/**
 * A child's handle: the child's own promise plus what `cancel` needs. It
 * makes no promise of its own until someone awaits it, which keeps the
 * per-child cost to this one small object.
 */
export class TaskImpl<T> implements Task<T> {
  readonly #outcome: Promise<T>;
  readonly #controller: AbortController | undefined;
  #cancelReason: unknown = NONE;

  /**
   * @param outcome The child's promise; the nursery has already attached
   * its handlers, so it never goes unhandled.
   * @param controller The child's own controller, when it has one.
   */
  constructor(outcome: Promise<T>, controller: AbortController | undefined) {
    this.#outcome = outcome;
    this.#controller = controller;
  }

  cancel(reason?: unknown): void {
    if (this.#cancelReason !== NONE) return;
    const why = reason === undefined
      ? abortError("The task was cancelled")
      : reason;
    this.#cancelReason = why;
    this.#controller?.abort(why);
  }

  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#toPromise().then(onFulfilled, onRejected);
  }

  catch<R = never>(
    onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<T | R> {
    return this.#toPromise().then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#toPromise().finally(onFinally);
  }

  #toPromise(): Promise<T> {
    const reason = this.#cancelReason;
    if (reason === NONE) return this.#outcome;
    const fail = (): never => {
      throw reason;
    };
    return this.#outcome.then(fail, fail);
  }

  get [Symbol.toStringTag](): string {
    return "Task";
  }
}
