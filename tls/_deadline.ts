/**
 * Timeout and cancellation plumbing shared by tls/ (and usable by http/).
 *
 * @module
 */

/** Throws a RangeError unless `ms` is undefined or a finite number >= 0. */
export function checkTimeout(ms: number | undefined, name = "timeoutMs"): void {
  if (
    ms !== undefined &&
    !(typeof ms === "number" && ms >= 0 && Number.isFinite(ms))
  ) {
    throw new RangeError(
      `Cannot use ${name} ${ms}: it must be a finite number >= 0`,
    );
  }
}

/** The DOMException every timeout rejects with (same shape as `AbortSignal.timeout`). */
export function timeoutError(what: string, ms: number): DOMException {
  return new DOMException(`${what} timed out after ${ms} ms`, "TimeoutError");
}

/**
 * Settles like `p`, unless `timeoutMs` passes or `signal` aborts first: then
 * `onExpire` runs (e.g. closes the connection) and the result rejects with a
 * TimeoutError or `signal.reason`. The timer and the abort listener never
 * outlive the call. `p` keeps running; the caller decides what happens to it.
 */
export function raceDeadline<T>(
  p: Promise<T>,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  what: string,
  onExpire?: () => void,
): Promise<T> {
  if (timeoutMs === undefined && signal === undefined) return p;
  if (signal?.aborted) {
    onExpire?.();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const expire = (reason: unknown): void => {
      cleanup();
      onExpire?.();
      reject(reason);
    };
    const onAbort = (): void => expire(signal!.reason);
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => expire(timeoutError(what, timeoutMs)),
        timeoutMs,
      );
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/**
 * One movable timer per connection: `arm(ms)` (re)starts it, `disarm()` stops
 * it, and `onExpire` runs once when it fires. Cheaper than a timer per operation.
 */
export class Deadline implements Disposable {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onExpire: () => void;
  #fire = (): void => {
    this.#timer = undefined;
    this.#onExpire();
  };

  /** @param onExpire Runs when an armed deadline passes. */
  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** Whether a timer is running. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** (Re)starts the timer for `ms` milliseconds. */
  arm(ms: number): void {
    checkTimeout(ms, "ms");
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#fire, ms);
  }

  /** Stops the timer if it runs. */
  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Same as `disarm()`. */
  [Symbol.dispose](): void {
    this.disarm();
  }
}
