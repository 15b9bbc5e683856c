/** Largest delay `setTimeout` honours; longer ones overflow and fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Checks a duration in milliseconds, throwing synchronously like every
 * public entry point promises.
 */
export function assertDuration(
  ms: unknown,
  name: string,
): asserts ms is number {
  if (typeof ms !== "number") {
    throw new TypeError(
      `Cannot use ${name}: expected a number, got ${typeof ms}`,
    );
  }
  if (!(ms >= 0 && ms <= MAX_DELAY_MS)) {
    throw new RangeError(
      `Cannot use ${name} ${ms}: it must be between 0 and ${MAX_DELAY_MS} ms`,
    );
  }
}

/** Checks an optional `signal` option. */
export function assertSignal(signal: unknown, name: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot use ${name}: expected an AbortSignal, got ${typeof signal}`,
    );
  }
}

/** The AbortError DOMException a cancellation caused by `cause` carries. */
export function abortError(message: string, cause?: unknown): DOMException {
  const error = new DOMException(message, "AbortError");
  if (cause !== undefined) {
    // DOMException has no options bag, so the cause is attached by hand.
    Object.defineProperty(error, "cause", {
      value: cause,
      configurable: true,
      writable: true,
    });
  }
  return error;
}

/** The TimeoutError DOMException, shaped like `AbortSignal.timeout`'s. */
export function timeoutError(ms: number): DOMException {
  return new DOMException(
    `The operation timed out after ${ms} ms`,
    "TimeoutError",
  );
}

/**
 * Whether `error` is how a task reports that `signal` cancelled it: the
 * signal's own reason, or a fresh AbortError/TimeoutError some APIs throw
 * instead of the reason.
 */
export function isCancellation(signal: AbortSignal, error: unknown): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/** Checks a scope body, throwing synchronously. */
export function assertBody(body: unknown, name: string): void {
  if (typeof body !== "function") {
    throw new TypeError(
      `Cannot run ${name}: expected a body function, got ${typeof body}`,
    );
  }
}

/** A rejection handler for rejections someone else observes. */
export function ignore(): void {}
