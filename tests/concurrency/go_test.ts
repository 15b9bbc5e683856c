// These tests exercise the detached spawn on purpose.
// deno-lint-ignore-file quartz/no-bare-go
import assert from "node:assert/strict";
import {
  CancelToken,
  go,
  goCancellable,
  sleep,
} from "../../concurrency/mod.ts";
import { withClock } from "./_clock.ts";

Deno.test("go() resolves its handle with the task's value", async () => {
  assert.equal(await go(() => Promise.resolve(42)), 42);
  assert.equal(await go(() => "sync"), "sync");
});

Deno.test("go() hands every failure to onError", async () => {
  const failure = new Error("Lost?");
  const reported: unknown[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  go(() => Promise.reject(failure), {
    onError: (error) => {
      reported.push(error);
      resolve();
    },
  });
  await promise;
  assert.deepEqual(reported, [failure]);
});

/** Collects unhandled rejections (and keeps them from failing the test). */
function watchUnhandled(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent): void => {
    event.preventDefault();
    reasons.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", listener);
  return {
    reasons,
    stop: () => globalThis.removeEventListener("unhandledrejection", listener),
  };
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("go() without onError surfaces a failure nothing awaits as an unhandled rejection", async () => {
  const failure = new Error("Reported");
  const watch = watchUnhandled();
  try {
    go(() => {
      throw failure;
    });
    await macrotask();
    await macrotask();
  } finally {
    watch.stop();
  }
  assert.deepEqual(watch.reasons, [failure]);
});

Deno.test("go() does not report a failure its handle's awaiter receives", async () => {
  const failure = new Error("Handled");
  const watch = watchUnhandled();
  try {
    const task = go(() => Promise.reject(failure));
    await assert.rejects(task, (error) => error === failure);
    await macrotask();
    await macrotask();
  } finally {
    watch.stop();
  }
  assert.deepEqual(watch.reasons, []);
});

Deno.test("go() task handle cancel() aborts the task's signal and is not reported", async () => {
  const reported: unknown[] = [];
  const reason = new Error("Not needed");
  const task = go((signal) => sleep(60_000, { signal }), {
    onError: (error) => reported.push(error),
  });
  task.cancel(reason);
  await assert.rejects(task, (error) => error === reason);
  assert.deepEqual(reported, []);
});

Deno.test("goCancellable() is cancelled by its token with the token's reason", async () => {
  await withClock(async (clock) => {
    const token = CancelToken.create();
    const reason = new Error("Cancelled by token");
    let seen: unknown;
    const task = goCancellable(async (signal) => {
      await sleep(1_000, { signal }).catch((error) => {
        seen = error;
        throw error;
      });
    }, token);
    await clock.tickAsync(1);
    token.cancel(reason);
    await assert.rejects(task, (error) => error === reason);
    assert.equal(seen, reason);

    const started: string[] = [];
    const refused = goCancellable(() => started.push("ran"), token);
    await assert.rejects(refused, (error) => error === reason);
    assert.deepEqual(started, []);
  });
  assert.throws(() => goCancellable(() => 1, {} as never), TypeError);
});

Deno.test("CancelToken cancels with a reason, exposes signal and cancelled, and throwIfCancelled() throws it", () => {
  const token = new CancelToken();
  assert.equal(token.cancelled, false);
  assert.equal(token.signal.aborted, false);
  token.throwIfCancelled();
  const reason = new Error("Stop");
  token.cancel(reason);
  token.cancel(new Error("Ignored: already cancelled"));
  assert.equal(token.cancelled, true);
  assert.equal(token.reason, reason);
  assert.equal(token.signal.reason, reason);
  assert.throws(() => token.throwIfCancelled(), (error) => error === reason);

  const byDefault = new CancelToken();
  byDefault.cancel();
  assert.equal((byDefault.reason as DOMException).name, "AbortError");
});

Deno.test("CancelToken linked to a parent signal is cancelled with the parent's reason, and not the other way", () => {
  const parent = new AbortController();
  const token = CancelToken.create({ signal: parent.signal });
  const sibling = CancelToken.create({ signal: parent.signal });
  sibling.cancel();
  assert.equal(parent.signal.aborted, false);
  assert.equal(token.cancelled, false);
  const reason = { why: "parent" };
  parent.abort(reason);
  assert.equal(token.cancelled, true);
  assert.equal(token.reason, reason);

  const born = CancelToken.create({ signal: AbortSignal.abort(reason) });
  assert.equal(born.reason, reason);
});
