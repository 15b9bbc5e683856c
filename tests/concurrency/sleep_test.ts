import assert from "node:assert/strict";
import { deadline, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("sleep() resolves after the duration and rejects with the signal's reason when it aborts", async () => {
  await withClock(async (clock) => {
    const plain = track(sleep(100));
    await clock.tickAsync(99);
    assert.equal(plain.state, "pending");
    await clock.tickAsync(1);
    assert.equal(plain.state, "fulfilled");

    const controller = new AbortController();
    const reason = new Error("Wake up");
    const cancelled = track(sleep(100, { signal: controller.signal }));
    controller.abort(reason);
    await clock.tickAsync(0);
    assert.equal(cancelled.state, "rejected");
    assert.equal(cancelled.error, reason);
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("sleep() rejects at once for an aborted signal and throws for a bad duration", async () => {
  const reason = new Error("Already");
  await assert.rejects(
    sleep(10, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.throws(() => sleep(-5), RangeError);
  assert.throws(() => sleep(Number.NaN), RangeError);
  assert.throws(() => sleep("5" as never), TypeError);
});

Deno.test("deadline() rejects with a TimeoutError and aborts a function's signal when the time passes", async () => {
  await withClock(async (clock) => {
    let inner: AbortSignal | undefined;
    const bounded = track(deadline((signal) => {
      inner = signal;
      return sleep(1_000, { signal });
    }, 50));
    await clock.tickAsync(50);
    assert.equal(bounded.state, "rejected");
    assert.equal((bounded.error as DOMException).name, "TimeoutError");
    assert.equal(inner!.reason, bounded.error);
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("deadline() returns a promise's value in time and clears its timer", async () => {
  await withClock(async (clock) => {
    const bounded = track(deadline(sleep(10).then(() => "value"), 50));
    await clock.tickAsync(10);
    assert.equal(bounded.value, "value");
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("deadline() rejects with the signal's reason, before calling the function if already aborted", async () => {
  const reason = new Error("Cancelled");
  let called = false;
  await assert.rejects(
    deadline(
      () => {
        called = true;
      },
      10,
      { signal: AbortSignal.abort(reason) },
    ),
    (error) => error === reason,
  );
  assert.equal(called, false);

  const controller = new AbortController();
  const bounded = deadline((signal) => sleep(60_000, { signal }), 60_000, {
    signal: controller.signal,
  });
  controller.abort(reason);
  await assert.rejects(bounded, (error) => error === reason);
  assert.throws(() => deadline(Promise.resolve(1), -1), RangeError);
  assert.throws(() => deadline(42 as never, 10), TypeError);
});
