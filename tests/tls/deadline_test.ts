import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  checkTimeout,
  Deadline,
  raceDeadline,
  raceShared,
  SharedTimer,
} from "../../tls/_deadline.ts";

Deno.test("raceDeadline() rejects with a TimeoutError and runs onExpire once the time passes", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    let expired = 0;
    const never = new Promise<number>(() => {});
    const p = raceDeadline(never, 1000, undefined, "Test op", () => expired++);
    clock.tick(999);
    assert.equal(expired, 0);
    clock.tick(1);
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof DOMException);
      assert.equal(e.name, "TimeoutError");
      assert.equal(e.message, "Test op timed out after 1000 ms");
      return true;
    });
    assert.equal(expired, 1);
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceDeadline() resolves with the value and clears its timer", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    let expired = 0;
    const ac = new AbortController();
    assert.equal(
      await raceDeadline(
        Promise.resolve(7),
        50,
        ac.signal,
        "Op",
        () => expired++,
      ),
      7,
    );
    assert.equal(clock.countTimers(), 0);
    ac.abort(new Error("Late"));
    assert.equal(expired, 0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceDeadline() rejects with signal.reason itself, before or during the wait", async () => {
  const reason = { why: "not an Error" };
  let expired = 0;
  await assert.rejects(
    raceDeadline(
      Promise.resolve(1),
      undefined,
      AbortSignal.abort(reason),
      "Op",
      () => expired++,
    ),
    (e) => e === reason,
  );
  const ac = new AbortController();
  const p = raceDeadline(
    new Promise(() => {}),
    undefined,
    ac.signal,
    "Op",
    () => expired++,
  );
  ac.abort(reason);
  await assert.rejects(p, (e) => e === reason);
  assert.equal(expired, 2);
});

Deno.test("raceDeadline() passes the operation's own rejection through", async () => {
  const err = new Error("Boom");
  await assert.rejects(
    raceDeadline(Promise.reject(err), 10, undefined, "Op"),
    (e) => e === err,
  );
});

Deno.test("Deadline fires once per arm and can be moved or disarmed", () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  try {
    let fired = 0;
    using d = new Deadline(() => fired++);
    d.arm(100);
    clock.tick(60);
    d.arm(100); // moved: 100 ms from now
    clock.tick(60);
    assert.equal(fired, 0);
    assert.equal(d.armed, true);
    clock.tick(40);
    assert.equal(fired, 1);
    assert.equal(d.armed, false);
    d.arm(10);
    d.disarm();
    clock.tick(100);
    assert.equal(fired, 1);
    d.arm(10);
  } finally {
    // `using` disarmed the last arm: nothing left to fire.
    assert.equal(clock.countTimers(), 0);
    clock.uninstall();
  }
});

Deno.test("checkTimeout() throws a RangeError naming the bad value", () => {
  checkTimeout(undefined);
  checkTimeout(0);
  assert.throws(() => checkTimeout(-1), /Cannot use timeoutMs -1/);
  assert.throws(() => checkTimeout(Number.NaN, "headerTimeoutMs"), RangeError);
  assert.throws(() => checkTimeout(Infinity), RangeError);
});

function fakeClock(): ReturnType<
  ReturnType<typeof FakeTimers.withGlobal>["install"]
> {
  return FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout", "performance"],
  });
}

const never = (): Promise<number> => new Promise<number>(() => {});
const isTimeout = (e: unknown): boolean =>
  e instanceof DOMException && e.name === "TimeoutError";

Deno.test("raceShared() times a later operation from its own start, not from the timer an earlier one left", async () => {
  const clock = fakeClock();
  try {
    using timer = new SharedTimer();
    assert.equal(
      await raceShared(Promise.resolve(1), timer, 100, undefined, "A"),
      1,
    );
    clock.tick(50);
    let expired = 0;
    const p = raceShared(never(), timer, 100, undefined, "B", () => expired++);
    p.catch(() => {});
    clock.tick(50); // the timer set for A fires here; B is due 50 ms later
    assert.equal(expired, 0);
    clock.tick(49);
    assert.equal(expired, 0);
    clock.tick(1);
    assert.equal(expired, 1);
    await assert.rejects(p, isTimeout);
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceShared() fires on time when a later operation has a shorter timeout", async () => {
  const clock = fakeClock();
  try {
    using timer = new SharedTimer();
    await raceShared(Promise.resolve(1), timer, 10_000, undefined, "A");
    const p = raceShared(never(), timer, 10, undefined, "B");
    p.catch(() => {});
    clock.tick(10);
    await assert.rejects(p, (e) => {
      assert.ok(isTimeout(e));
      assert.equal((e as DOMException).message, "B timed out after 10 ms");
      return true;
    });
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceShared() ignores an expired operation that settles during the next one", async () => {
  const clock = fakeClock();
  try {
    using timer = new SharedTimer();
    let settle!: (n: number) => void;
    const first = raceShared(
      new Promise<number>((r) => settle = r),
      timer,
      10,
      undefined,
      "A",
    );
    first.catch(() => {});
    clock.tick(10);
    await assert.rejects(first, isTimeout);
    const second = raceShared(never(), timer, 100, undefined, "B");
    second.catch(() => {});
    settle(1); // the first operation's late result must not stop B's timer
    await Promise.resolve();
    clock.tick(100);
    await assert.rejects(second, isTimeout);
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceShared() rejects with signal.reason and removes its listener", async () => {
  const clock = fakeClock();
  try {
    using timer = new SharedTimer();
    const reason = new Error("Stop");
    const ac = new AbortController();
    let expired = 0;
    const p = raceShared(
      never(),
      timer,
      1000,
      ac.signal,
      "Op",
      () => expired++,
    );
    ac.abort(reason);
    await assert.rejects(p, (e) => e === reason);
    assert.equal(expired, 1);
    clock.tick(1000); // the timer finds nothing due
    assert.equal(expired, 1);
    await assert.rejects(
      raceShared(
        Promise.resolve(1),
        timer,
        10,
        AbortSignal.abort(reason),
        "Op",
      ),
      (e) => e === reason,
    );
  } finally {
    clock.uninstall();
  }
});

Deno.test("SharedTimer outlives an operation until it fires or is disposed, never after", async () => {
  const clock = fakeClock();
  try {
    const timer = new SharedTimer();
    await raceShared(Promise.resolve(1), timer, 100, undefined, "Op");
    assert.equal(clock.countTimers(), 1);
    clock.tick(100);
    assert.equal(clock.countTimers(), 0);
    await raceShared(Promise.resolve(1), timer, 100, undefined, "Op");
    timer[Symbol.dispose]();
    assert.equal(clock.countTimers(), 0);
  } finally {
    clock.uninstall();
  }
});

Deno.test("raceShared() gives an overlapping operation its own timer", async () => {
  const clock = fakeClock();
  try {
    using timer = new SharedTimer();
    let expired = 0;
    const first = raceShared(
      never(),
      timer,
      100,
      undefined,
      "A",
      () => expired++,
    );
    first.catch(() => {});
    const busy = new Error("Busy");
    await assert.rejects(
      raceShared(Promise.reject(busy), timer, 10, undefined, "B"),
      (e) => e === busy,
    );
    clock.tick(100); // the refused overlap must not have stopped A's timeout
    assert.equal(expired, 1);
    await assert.rejects(first, isTimeout);
  } finally {
    clock.uninstall();
  }
});
