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

/**
 * One timer that the successive operations of a stream share, so a timed read
 * or write costs no setTimeout/clearTimeout pair of its own (a few µs each,
 * about a tenth of a 16 KiB record at loopback speed). `start()` records the
 * operation's due time and only (re)sets the timer when it would fire too
 * late; `stop()` leaves it running, and when it fires with nothing due it
 * simply ends. It is unref'd, so it never keeps the process alive, and
 * `dispose()` (on close) clears it.
 */
export class SharedTimer implements Disposable {
  #id: ReturnType<typeof setTimeout> | undefined;
  #fireAt = 0;
  #due = 0;
  #onDue: (() => void) | null = null;
  #fire = (): void => {
    this.#id = undefined;
    const onDue = this.#onDue;
    if (onDue === null) return;
    const left = this.#due - performance.now();
    if (left > 0) return this.#set(left);
    this.#onDue = null;
    onDue();
  };

  /** Runs `onDue` once `ms` milliseconds pass, unless `stop()` comes first. */
  start(ms: number, onDue: () => void): void {
    const due = performance.now() + ms;
    this.#due = due;
    this.#onDue = onDue;
    if (this.#id !== undefined) {
      if (this.#fireAt <= due) return;
      clearTimeout(this.#id);
    }
    this.#set(ms);
  }

  /** Whether an operation is using the timer (started, not stopped or due yet). */
  get inUse(): boolean {
    return this.#onDue !== null;
  }

  /** The operation ended: nothing is due any more. */
  stop(): void {
    this.#onDue = null;
  }

  #set(ms: number): void {
    this.#fireAt = performance.now() + ms;
    const id = setTimeout(this.#fire, ms);
    this.#id = id;
    // Number(): the type is Node's Timeout where @types/node is loaded.
    Deno.unrefTimer(Number(id));
  }

  /** Stops the operation and clears the timer. */
  [Symbol.dispose](): void {
    this.#onDue = null;
    if (this.#id !== undefined) clearTimeout(this.#id);
    this.#id = undefined;
  }
}

/**
 * {@linkcode raceDeadline} on a {@linkcode SharedTimer}: settles like `p`
 * unless `timeoutMs` passes or `signal` aborts first (then `onExpire` runs and
 * the result rejects with a TimeoutError or `signal.reason`). An operation
 * that overlaps one already using the timer (a call that will fail as busy)
 * gets a timer of its own. The abort listener never outlives the call.
 */
export function raceShared<T>(
  p: Promise<T>,
  timer: SharedTimer,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  what: string,
  onExpire?: () => void,
): Promise<T> {
  if (timeoutMs === undefined || signal?.aborted || timer.inUse) {
    return raceDeadline(p, timeoutMs, signal, what, onExpire);
  }
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      timer.stop();
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const expire = (reason: unknown): void => {
      if (!finish()) return;
      onExpire?.();
      reject(reason);
    };
    const onAbort = (): void => expire(signal!.reason);
    timer.start(timeoutMs, () => expire(timeoutError(what, timeoutMs)));
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        if (finish()) resolve(v);
      },
      (e) => {
        if (finish()) reject(e);
      },
    );
  });
}
