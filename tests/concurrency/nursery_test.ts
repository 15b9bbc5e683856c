import assert from "node:assert/strict";
import { goScope, openNursery, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("openNursery() with await using waits for the children when the block ends", async () => {
  await withClock(async (clock) => {
    const done: string[] = [];
    const block = track((async () => {
      await using nursery = openNursery();
      nursery.go(async () => {
        await sleep(10);
        done.push("child");
      });
    })());
    await clock.tickAsync(9);
    assert.equal(block.state, "pending");
    await clock.tickAsync(1);
    assert.equal(block.state, "fulfilled");
    assert.deepEqual(done, ["child"]);
  });
});

Deno.test("openNursery() disposal rethrows a child failure, which also aborted the block's signal", async () => {
  const failure = new Error("Child failed");
  let blockError: unknown;
  const error = await (async () => {
    await using nursery = openNursery();
    nursery.go(() => Promise.reject(failure));
    try {
      await sleep(60_000, { signal: nursery.signal });
    } catch (error) {
      blockError = error;
    }
  })().catch((error) => error);
  assert.equal(error, failure);
  assert.equal((blockError as { cause?: unknown }).cause, failure);
});

Deno.test("openNursery() throws the reason of an already-aborted parent before the block runs", () => {
  const reason = new Error("Gone");
  assert.throws(
    () => openNursery({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
});

Deno.test("nursery.go() returns a handle that awaits the child's value", async () => {
  const sum = await goScope(async (nursery) => {
    const a = nursery.go(() => Promise.resolve(1));
    const b = nursery.go(() => 2);
    return (await a) + (await b);
  });
  assert.equal(sum, 3);
});

Deno.test("nursery.go() with its own signal: the handle cancels that child alone, and it is no failure", async () => {
  await withClock(async (clock) => {
    const reason = new Error("Just this one");
    const log: string[] = [];
    const scope = track(goScope(async (nursery) => {
      const own = new AbortController();
      const lone = nursery.go(async (signal) => {
        await sleep(1_000, { signal });
      }, { signal: own.signal });
      const sibling = nursery.go(async (signal) => {
        await sleep(10, { signal });
        log.push("sibling finished");
      });
      lone.cancel(reason);
      await assert.rejects(lone, (error) => error === reason);
      log.push("lone cancelled");
      await sibling;
      return "ok";
    }));
    await clock.tickAsync(10);
    assert.deepEqual(log, ["lone cancelled", "sibling finished"]);
    assert.equal(scope.state, "fulfilled");
    assert.equal(scope.value, "ok");
  });
});

Deno.test("nursery.go() options.signal cancels that child alone with its reason", async () => {
  const controller = new AbortController();
  const reason = new Error("Per-child");
  const result = await goScope(async (nursery) => {
    const task = nursery.go((signal) => sleep(60_000, { signal }), {
      signal: controller.signal,
    });
    const sibling = nursery.go(() => "sibling");
    controller.abort(reason);
    return [await task.catch((error) => error), await sibling];
  });
  assert.deepEqual(result, [reason, "sibling"]);
});

Deno.test("nursery.go() handle of a child sharing the nursery signal rejects with the cancel reason once it settles", async () => {
  await withClock(async (clock) => {
    const reason = new Error("Stop waiting");
    let finished = false;
    const scope = track(goScope(async (nursery) => {
      const task = nursery.go(async () => {
        await sleep(10);
        finished = true;
        return "value";
      });
      task.cancel(reason);
      return await task.catch((error) => error);
    }));
    await clock.tickAsync(10);
    assert.equal(finished, true);
    assert.equal(scope.value, reason);
  });
});

Deno.test("nursery.go() throws a TypeError for a child that is not a function", async () => {
  await goScope((nursery) => {
    assert.throws(() => nursery.go(42 as never), TypeError);
  });
});
