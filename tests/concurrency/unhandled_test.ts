// The detached go() is part of what must never leak a rejection.
// deno-lint-ignore-file quartz/no-bare-go
import assert from "node:assert/strict";
import {
  CancelToken,
  deadline,
  go,
  goCancellable,
  goRace,
  goScope,
  goScopeTimeout,
  goSupervisor,
  openNursery,
  sleep,
} from "../../concurrency/mod.ts";

/** Lets the runtime dispatch pending unhandledrejection events. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("no unhandledrejection ever fires from a nursery, whatever the children do", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (event: PromiseRejectionEvent): void => {
    event.preventDefault();
    unhandled.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    // The listener works: a plain unhandled rejection is seen.
    Promise.reject(new Error("Control"));
    await macrotask();
    await macrotask();
    assert.equal(unhandled.length, 1);
    unhandled.length = 0;

    const fail = (message: string) => () => Promise.reject(new Error(message));
    await goScope((nursery) => {
      for (let i = 0; i < 5; i++) nursery.go(fail(`Child ${i}`)); // handles dropped
      nursery.go(() => {
        throw new Error("Sync");
      });
      nursery.go((signal) => sleep(60_000, { signal }));
    }).catch(() => {});
    await goScope((nursery) => {
      nursery.cancel();
      nursery.go(fail("Never starts")); // refused handle, never awaited
      nursery.go(() => 1, { signal: AbortSignal.abort() });
    });
    await goScope((nursery) => {
      const own = new AbortController();
      nursery.go((signal) => sleep(60_000, { signal }), { signal: own.signal })
        .cancel();
      nursery.go(fail("Shared")).cancel();
    }).catch(() => {});
    await goSupervisor((nursery) => {
      for (let i = 0; i < 5; i++) nursery.go(fail(`Supervised ${i}`));
    });
    await goSupervisor(async () => {
      await Promise.reject(new Error("Body"));
    }).catch(() => {});
    await goScopeTimeout(1, (nursery) => {
      nursery.go((signal) => sleep(60_000, { signal }));
      nursery.go(async (signal) => {
        await sleep(60_000, { signal }).catch(() => {});
        throw new Error("After timeout");
      });
    }).catch(() => {});
    await goRace([
      fail("Winner"),
      fail("Loser"),
      (signal) => sleep(60_000, { signal }),
    ]).catch(() => {});
    await goRace([() => 1, fail("Loser")]).catch(() => {});
    await (async () => {
      await using nursery = openNursery();
      nursery.go(fail("Disposed"));
    })().catch(() => {});
    await deadline((signal) => sleep(60_000, { signal }), 1).catch(() => {});
    await deadline(sleep(5).then(fail("Late")), 1).catch(() => {});
    const token = new CancelToken();
    goCancellable((signal) => sleep(60_000, { signal }), token);
    token.cancel();
    go(fail("Detached"), { onError: () => {} });
    await sleep(10);
    await macrotask();
    await macrotask();
    assert.deepEqual(unhandled, []);
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
});
