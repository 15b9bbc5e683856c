import assert from "node:assert/strict";
import { goSupervisor, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("goSupervisor() keeps siblings running after a child fails and returns the failures in order", async () => {
  await withClock(async (clock) => {
    const first = new Error("First");
    const second = new Error("Second");
    let siblingAborted = true;
    const supervisor = track(goSupervisor((nursery) => {
      nursery.go(async (signal) => {
        await sleep(10, { signal });
        siblingAborted = signal.aborted;
      });
      nursery.go(async () => {
        await sleep(1);
        throw first;
      });
      nursery.go(() => {
        throw second;
      });
      return "body";
    }));
    await clock.tickAsync(10);
    assert.equal(siblingAborted, false);
    assert.equal(supervisor.state, "fulfilled");
    assert.equal(supervisor.value!.value, "body");
    assert.deepEqual(supervisor.value!.failures, [second, first]);
  });
});

Deno.test("goSupervisor() hands failures to onFailure as they happen instead of keeping them", async () => {
  const failure = new Error("Connection reset");
  const seen: unknown[] = [];
  const result = await goSupervisor((nursery) => {
    nursery.go(() => Promise.reject(failure));
    nursery.go(() => 1);
  }, { onFailure: (error) => seen.push(error) });
  assert.deepEqual(seen, [failure]);
  assert.deepEqual(result.failures, []);
});

Deno.test("goSupervisor() cancels every child when the body itself fails and rejects with that error", async () => {
  await withClock(async (clock) => {
    const failure = new Error("Body failed");
    const reasons: unknown[] = [];
    const supervisor = track(goSupervisor(async (nursery) => {
      nursery.go(async (signal) => {
        await sleep(1_000, { signal }).catch(() => reasons.push(signal.reason));
      });
      await sleep(5);
      throw failure;
    }));
    await clock.tickAsync(5);
    assert.equal(supervisor.state, "rejected");
    assert.equal(supervisor.error, failure);
    assert.equal((reasons[0] as DOMException).name, "AbortError");
    assert.equal((reasons[0] as { cause?: unknown }).cause, failure);
  });
});

Deno.test("goSupervisor() keeps earlier child failures next to a body failure", async () => {
  const childFailure = new Error("Child");
  const bodyFailure = new Error("Body");
  const error = await goSupervisor(async (nursery) => {
    await nursery.go(() => Promise.reject(childFailure)).then(
      () => {},
      () => {},
    );
    throw bodyFailure;
  }).catch((error) => error);
  assert.ok(error instanceof AggregateError);
  assert.deepEqual(error.errors, [childFailure, bodyFailure]);
});

Deno.test("goSupervisor() treats a throwing onFailure as its own failure", async () => {
  const sinkError = new Error("Sink broke");
  const error = await goSupervisor((nursery) => {
    nursery.go((signal) => sleep(60_000, { signal }));
    nursery.go(() => Promise.reject(new Error("Child")));
  }, {
    onFailure: () => {
      throw sinkError;
    },
  }).catch((error) => error);
  assert.equal(error, sinkError);
});
