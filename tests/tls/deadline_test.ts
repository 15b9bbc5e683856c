import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { checkTimeout, Deadline, raceDeadline } from "../../tls/_deadline.ts";

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
