import FakeTimers from "@sinonjs/fake-timers";

/** A fake clock installed on globalThis for the length of `fn`. */
export type Clock = ReturnType<typeof FakeTimers.install>;

/**
 * Runs `fn` with setTimeout/clearTimeout faked on globalThis, and uninstalls
 * them afterwards whatever happens.
 */
export async function withClock(
  fn: (clock: Clock) => Promise<void>,
): Promise<void> {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "Date"],
  });
  try {
    await fn(clock);
  } finally {
    clock.uninstall();
  }
}

/** Settles a promise's state without awaiting it: "pending" until it does. */
export function track<T>(
  promise: Promise<T>,
): { state: string; value?: T; error?: unknown } {
  const tracked: { state: string; value?: T; error?: unknown } = {
    state: "pending",
  };
  promise.then(
    (value) => {
      tracked.state = "fulfilled";
      tracked.value = value;
    },
    (error) => {
      tracked.state = "rejected";
      tracked.error = error;
    },
  );
  return tracked;
}
