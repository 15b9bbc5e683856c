import assert from "node:assert/strict";
import { goRace, sleep } from "../../concurrency/mod.ts";
import { track, withClock } from "./_clock.ts";

Deno.test("goRace() cancels the losers and waits for them before returning the winner", async () => {
  await withClock(async (clock) => {
    const log: string[] = [];
    const race = track(goRace([
      async (signal) => {
        await sleep(10, { signal });
        return "fast";
      },
      async (signal) => {
        try {
          await sleep(1_000, { signal });
          return "slow";
        } finally {
          log.push(`loser aborted: ${(signal.reason as DOMException).name}`);
          await sleep(5);
          log.push("loser cleaned up");
        }
      },
    ]));
    await clock.tickAsync(10);
    assert.deepEqual(log, ["loser aborted: AbortError"]);
    assert.equal(race.state, "pending");
    await clock.tickAsync(5);
    assert.deepEqual(log, ["loser aborted: AbortError", "loser cleaned up"]);
    assert.equal(race.state, "fulfilled");
    assert.equal(race.value, "fast");
  });
});

Deno.test("goRace() gives exactly one winner when tasks settle in the same tick", async () => {
  let settledTasks = 0;
  const winner = await goRace(
    [1, 2, 3].map((n) => () => {
      settledTasks++;
      return Promise.resolve(n);
    }),
  );
  assert.equal(winner, 1);
  assert.equal(settledTasks, 3);
});

Deno.test("goRace() lets a rejection that settles first win", async () => {
  await withClock(async (clock) => {
    const failure = new Error("Fails first");
    const race = track(goRace([
      async (signal) => {
        await sleep(2, { signal });
        return "late";
      },
      async (signal) => {
        await sleep(1, { signal });
        throw failure;
      },
    ]));
    await clock.tickAsync(2);
    assert.equal(race.state, "rejected");
    assert.equal(race.error, failure);
  });
});

Deno.test("goRace() does not lose a loser's failure during cleanup", async () => {
  const cleanup = new Error("Cleanup failed");
  const error = await goRace([
    () => "first",
    async (signal) => {
      try {
        await sleep(60_000, { signal });
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw cleanup;
      }
    },
  ]).catch((error) => error);
  assert.equal(error, cleanup);
});

Deno.test("goRace() rejects with a parent signal's reason and throws for no tasks", async () => {
  const parent = new AbortController();
  const reason = new Error("Parent gone");
  const race = goRace([(signal) => sleep(60_000, { signal })], {
    signal: parent.signal,
  });
  parent.abort(reason);
  await assert.rejects(race, (error) => error === reason);
  assert.throws(() => goRace([]), RangeError);
  assert.throws(() => goRace([1 as never]), TypeError);
});
