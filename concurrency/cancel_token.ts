import { abortError, assertSignal } from "./_util.ts";

/**
 * Options for {@linkcode CancelToken}.
 *
 * @example A per-request token that also cancels on server shutdown
 * ```ts
 * import { CancelToken, type CancelTokenOptions } from "@quartz/std/concurrency";
 * import assert from "node:assert/strict";
 *
 * const server = new AbortController();
 * const options: CancelTokenOptions = { signal: server.signal };
 * const request = new CancelToken(options);
 *
 * const reason = new Error("Server shutting down");
 * server.abort(reason);
 * assert.equal(request.cancelled, true);
 * assert.equal(request.reason, reason); // the parent's reason, same identity
 * ```
 */
export interface CancelTokenOptions {
  /**
   * A parent signal: when it aborts, the token is cancelled with its reason
   * (same identity). The link is weak (`AbortSignal.any`), so a long-lived
   * parent gathers no listeners from short-lived tokens.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * A cancellation source: hand out {@linkcode CancelToken.signal}, call
 * {@linkcode CancelToken.cancel} once. Use it with
 * {@linkcode goCancellable}, or anywhere an AbortSignal is taken.
 *
 * @example Cancel work linked to a parent
 * ```ts
 * import { CancelToken, sleep } from "@quartz/std/concurrency";
 *
 * const parent = new AbortController();
 * const token = CancelToken.create({ signal: parent.signal });
 * const pause = sleep(60_000, { signal: token.signal });
 * parent.abort(new Error("Shutting down"));
 * await pause.catch(() => {});
 * console.log(token.cancelled); // true
 * ```
 */
export class CancelToken {
  readonly #controller = new AbortController();
  readonly #signal: AbortSignal;

  /**
   * Creates a token, optionally linked to a parent signal.
   *
   * @param options A parent signal.
   * @throws {TypeError} If `options.signal` is not an AbortSignal.
   */
  constructor(options: CancelTokenOptions = {}) {
    const parent = options.signal;
    assertSignal(parent, "CancelToken signal");
    this.#signal = parent === undefined
      ? this.#controller.signal
      : AbortSignal.any([parent, this.#controller.signal]);
  }

  /**
   * Creates a token, optionally linked to a parent signal.
   *
   * @param options A parent signal.
   * @returns A new token.
   * @throws {TypeError} If `options.signal` is not an AbortSignal.
   *
   * @example Create a token
   * ```ts
   * import { CancelToken } from "@quartz/std/concurrency";
   *
   * const token = CancelToken.create();
   * token.cancel(new Error("Done"));
   * console.log(token.cancelled); // true
   * ```
   */
  static create(options: CancelTokenOptions = {}): CancelToken {
    return new CancelToken(options);
  }

  /** Aborts when the token is cancelled or its parent aborts. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Whether the token is cancelled. */
  get cancelled(): boolean {
    return this.#signal.aborted;
  }

  /** Why the token was cancelled; `undefined` while it is not. */
  get reason(): unknown {
    return this.#signal.reason;
  }

  /**
   * Cancels the token; later calls do nothing.
   *
   * @param reason Why; defaults to a DOMException named AbortError.
   */
  cancel(reason?: unknown): void {
    this.#controller.abort(
      reason === undefined ? abortError("The token was cancelled") : reason,
    );
  }

  /**
   * Throws the reason if the token is cancelled.
   *
   * @throws {unknown} The cancellation reason, same identity.
   */
  throwIfCancelled(): void {
    this.#signal.throwIfAborted();
  }
}
