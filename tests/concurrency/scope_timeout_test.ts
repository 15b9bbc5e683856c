import assert from "node:assert/strict";
import { goScope, goScopeTimeout, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("goScopeTimeout() aborts children with a TimeoutError and rejects with it once they have settled", async () => {
  await withClock(async (clock) => {
    const reasons: unknown[] = [];
    const scope = track(goScopeTimeout(100, (nursery) => {
      nursery.go(async (signal) => {
        try {
          await sleep(1_000, { signal });
        } finally {
          reasons.push(signal.reason);
          await sleep(5);
        }
      });
    }));
    await clock.tickAsync(100);
    assert.equal(reasons.length, 1);
    const reason = reasons[0];
    assert.ok(reason instanceof DOMException);
    assert.equal(reason.name, "TimeoutError");
    assert.equal(scope.state, "pending");
    await clock.tickAsync(5);
    assert.equal(scope.state, "rejected");
    assert.equal(scope.error, reason);
  });
});

Deno.test("goScopeTimeout() clears its timer when the scope ends early", async () => {
  await withClock(async (clock) => {
    const scope = track(goScopeTimeout(1_000, (nursery) => {
      nursery.go(() => sleep(10));
      return "done";
    }));
    assert.equal(clock.countTimers(), 2);
    await clock.tickAsync(10);
    assert.equal(scope.state, "fulfilled");
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("goScopeTimeout() lets a child error before the deadline win over the timeout", async () => {
  await withClock(async (clock) => {
    const failure = new Error("Early failure");
    const scope = track(goScopeTimeout(100, (nursery) => {
      nursery.go(async (signal) => {
        try {
          await sleep(1_000, { signal });
        } finally {
          await sleep(500); // cleanup runs past the deadline
        }
      });
      nursery.go(async () => {
        await sleep(10);
        throw failure;
      });
    }));
    await clock.tickAsync(510);
    assert.equal(scope.state, "rejected");
    assert.equal(scope.error, failure);
  });
});

Deno.test("goScopeTimeout() nested in another applies the nearer deadline", async () => {
  await withClock(async (clock) => {
    // The outer deadline is nearer: the inner scope gets the outer's error.
    let outerError: unknown;
    const outerFirst = track(goScopeTimeout(100, (nursery) => {
      nursery.go((signal) =>
        goScopeTimeout(1_000, (inner) => {
          inner.go((signal) => sleep(5_000, { signal }));
        }, { signal }).catch((error) => {
          outerError = error;
        })
      );
    }));
    await clock.tickAsync(100);
    assert.equal(outerFirst.state, "rejected");
    assert.equal(outerError, outerFirst.error);

    // The inner deadline is nearer: it fires first, at 50.
    let innerAt = -1;
    const innerFirst = track(goScopeTimeout(100, (nursery) => {
      nursery.go((signal) =>
        goScopeTimeout(50, (inner) => {
          inner.go((signal) => sleep(5_000, { signal }));
        }, { signal }).catch((error) => {
          innerAt = Date.now() - start;
          assert.equal(error.name, "TimeoutError");
          assert.match(error.message, /50 ms/);
        })
      );
    }));
    const start = Date.now();
    await clock.tickAsync(50);
    assert.equal(innerAt, 50);
    assert.equal(innerFirst.state, "fulfilled");
  });
});

Deno.test("goScopeTimeout() throws a RangeError synchronously for an invalid duration", () => {
  for (const ms of [-1, Number.NaN, Infinity, 2 ** 31]) {
    assert.throws(() => goScopeTimeout(ms, () => 1), RangeError, String(ms));
  }
  assert.throws(() => goScopeTimeout("10" as never, () => 1), TypeError);
});

Deno.test("goScopeTimeout() with an already-aborted parent rejects with its reason and starts no timer", async () => {
  await withClock(async (clock) => {
    const reason = new Error("Gone");
    const scope = goScopeTimeout(100, () => 1, {
      signal: AbortSignal.abort(reason),
    });
    assert.equal(clock.countTimers(), 0);
    await assert.rejects(scope, (error) => error === reason);
    // goScope shares the behaviour.
    await assert.rejects(
      goScope(() => 1, { signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
  });
});
