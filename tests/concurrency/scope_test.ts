import assert from "node:assert/strict";
import { goScope, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("goScope() waits for every child after the body returns, and children may start more while it joins", async () => {
  await withClock(async (clock) => {
    const done: string[] = [];
    const scope = track(goScope((nursery) => {
      nursery.go(async () => {
        await sleep(10);
        done.push("child");
        nursery.go(async () => {
          await sleep(10);
          done.push("grandchild");
        });
      });
      return "body";
    }));
    await clock.tickAsync(10);
    assert.deepEqual(done, ["child"]);
    assert.equal(scope.state, "pending");
    await clock.tickAsync(10);
    assert.deepEqual(done, ["child", "grandchild"]);
    assert.equal(scope.state, "fulfilled");
    assert.equal(scope.value, "body");
  });
});

Deno.test("goScope() aborts every other child and the body's awaits with an AbortError whose cause is the failure", async () => {
  await withClock(async (clock) => {
    const failure = new Error("Child failed");
    const reasons: unknown[] = [];
    let bodyError: unknown;
    const scope = track(goScope(async (nursery) => {
      for (let i = 0; i < 2; i++) {
        nursery.go(async (signal) => {
          try {
            await sleep(1_000, { signal });
          } finally {
            reasons.push(signal.reason);
          }
        });
      }
      nursery.go(async () => {
        await sleep(5);
        throw failure;
      });
      try {
        await sleep(1_000, { signal: nursery.signal });
      } catch (error) {
        bodyError = error;
        throw error;
      }
    }));
    await clock.tickAsync(5);
    assert.equal(scope.state, "rejected");
    assert.equal(scope.error, failure);
    assert.equal(reasons.length, 2);
    for (const reason of [...reasons, bodyError]) {
      assert.ok(reason instanceof DOMException);
      assert.equal(reason.name, "AbortError");
      assert.equal((reason as { cause?: unknown }).cause, failure);
    }
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("goScope() waits for children that ignore their signal and runs their finally blocks concurrently", async () => {
  await withClock(async (clock) => {
    const failure = new Error("Child failed");
    const log: string[] = [];
    const scope = track(goScope((nursery) => {
      nursery.go(async () => {
        await sleep(20); // ignores its signal
        log.push(`stubborn done at ${Date.now()}`);
      });
      for (const name of ["a", "b"]) {
        nursery.go(async (signal) => {
          try {
            await sleep(1_000, { signal });
          } finally {
            log.push(`${name} cleanup from ${Date.now()}`);
            await sleep(5);
            log.push(`${name} cleanup done at ${Date.now()}`);
          }
        });
      }
      nursery.go(async () => {
        await sleep(1);
        throw failure;
      });
    }));
    await clock.tickAsync(6);
    // Both finally blocks started at 1 and ended at 6: side by side.
    assert.deepEqual(log, [
      "a cleanup from 1",
      "b cleanup from 1",
      "a cleanup done at 6",
      "b cleanup done at 6",
    ]);
    await clock.tickAsync(13);
    assert.equal(scope.state, "pending");
    await clock.tickAsync(1);
    assert.equal(log.at(-1), "stubborn done at 20");
    assert.equal(scope.state, "rejected");
    assert.equal(scope.error, failure);
  });
});

Deno.test("goScope() rejects with the one failure itself, not a copy or a wrapper", async () => {
  const failure = new TypeError("Bad input");
  const error = await goScope((nursery) => {
    nursery.go((signal) => sleep(60_000, { signal }));
    nursery.go(() => Promise.reject(failure));
  }).catch((error) => error);
  assert.equal(error, failure);
});

Deno.test("goScope() rejects with an AggregateError of several failures in the order they happened", async () => {
  await withClock(async (clock) => {
    const first = new Error("First");
    const second = new Error("Second");
    const scope = track(goScope((nursery) => {
      nursery.go(async () => {
        await sleep(2); // ignores the cancellation, then fails on its own
        throw second;
      });
      nursery.go(async () => {
        await sleep(1);
        throw first;
      });
    }));
    await clock.tickAsync(2);
    assert.equal(scope.state, "rejected");
    assert.ok(scope.error instanceof AggregateError);
    assert.deepEqual(scope.error.errors, [first, second]);
  });
});

Deno.test("goScope() never reports its own cancellation as a failure, and a cleanup error never hides the original", async () => {
  const failure = new Error("Original");
  const cleanup = new Error("Cleanup");
  const onlyCancelled = await goScope((nursery) => {
    for (let i = 0; i < 3; i++) {
      nursery.go((signal) => sleep(60_000, { signal }));
    }
    nursery.go(() => Promise.reject(failure));
  }).catch((error) => error);
  assert.equal(onlyCancelled, failure);

  const withCleanup = await goScope((nursery) => {
    nursery.go(async (signal) => {
      try {
        await sleep(60_000, { signal });
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw cleanup;
      }
    });
    nursery.go(() => Promise.reject(failure));
  }).catch((error) => error);
  assert.ok(withCleanup instanceof AggregateError);
  assert.deepEqual(withCleanup.errors, [failure, cleanup]);
});

Deno.test("goScope() takes a synchronous throw from a child as its failure, not go()'s", async () => {
  const failure = new Error("Thrown synchronously");
  let returned = false;
  const error = await goScope((nursery) => {
    const task = nursery.go(() => {
      throw failure;
    });
    returned = task !== undefined;
  }).catch((error) => error);
  assert.equal(returned, true);
  assert.equal(error, failure);
});

Deno.test("nursery.go() throws after the scope has settled and starts nothing while it is cancelling", async () => {
  let escaped!: Parameters<Parameters<typeof goScope>[0]>[0];
  const reason = new Error("Stop");
  let started = false;
  let refused: unknown;
  await goScope(async (nursery) => {
    escaped = nursery;
    nursery.cancel(reason);
    const task = nursery.go(() => {
      started = true;
    });
    refused = await task.then(() => "fulfilled", (error) => error);
  });
  assert.equal(started, false);
  assert.equal(refused, reason);
  assert.throws(() => escaped.go(() => 1), {
    name: "TypeError",
    message: "Cannot start a child: the nursery has settled",
  });
});

Deno.test("goScope() passes a parent signal's reason unchanged to every descendant and rejects with it", async () => {
  await withClock(async (clock) => {
    const parent = new AbortController();
    const reason = { why: "shutdown" };
    const seen: unknown[] = [];
    const scope = track(goScope((nursery) => {
      nursery.go(async (signal) => {
        await sleep(1_000, { signal }).catch((error) => seen.push(error));
      });
      nursery.go((signal) =>
        goScope((inner) => {
          inner.go(async (signal) => {
            await sleep(1_000, { signal }).catch((error) => seen.push(error));
          });
        }, { signal }).catch((error) => seen.push(error))
      );
    }, { signal: parent.signal }));
    await clock.tickAsync(1);
    parent.abort(reason);
    await clock.tickAsync(0);
    assert.equal(scope.state, "rejected");
    assert.equal(scope.error, reason);
    assert.deepEqual(seen, [reason, reason, reason]);
  });
});

Deno.test("goScope() with an already-aborted parent never runs the body and rejects with the reason", async () => {
  const parent = new AbortController();
  const reason = new Error("Already gone");
  parent.abort(reason);
  let ran = false;
  const scope = goScope(() => {
    ran = true;
  }, { signal: parent.signal });
  assert.equal(ran, false);
  await assert.rejects(scope, (error) => error === reason);
});

Deno.test("goScope() leaves no listener on a long-lived parent across a million sequential scopes", async () => {
  const parent = new AbortController();
  const signal = parent.signal;
  let live = 0;
  let peak = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    live++;
    peak = Math.max(peak, live);
    add(...args);
  }) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    live--;
    remove(...args);
  }) as typeof remove;
  const child = (): number => 1;
  for (let i = 0; i < 1_000_000; i++) {
    await goScope((nursery) => {
      nursery.go(child);
    }, { signal });
  }
  assert.equal(live, 0);
  assert.equal(peak, 1);
});

Deno.test("nursery.cancel() makes the scope resolve normally once the children have settled", async () => {
  await withClock(async (clock) => {
    const reasons: unknown[] = [];
    const scope = track(goScope((nursery) => {
      nursery.go(async (signal) => {
        try {
          await sleep(1_000, { signal });
        } finally {
          reasons.push(signal.reason);
          await sleep(3);
        }
      });
      nursery.go(async () => {
        await sleep(1);
        nursery.cancel();
      });
      return "early exit";
    }));
    await clock.tickAsync(1);
    assert.equal(scope.state, "pending");
    await clock.tickAsync(3);
    assert.equal(scope.state, "fulfilled");
    assert.equal(scope.value, "early exit");
    assert.equal((reasons[0] as DOMException).name, "AbortError");
  });
});

Deno.test("goScope() throws a TypeError synchronously for a body that is not a function or a bad signal", () => {
  assert.throws(() => goScope(42 as never), TypeError);
  assert.throws(() => goScope(() => 1, { signal: "x" as never }), TypeError);
});
