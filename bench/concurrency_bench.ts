/**
 * Nursery overhead against the hand-written baseline, in one run:
 *
 *   deno bench bench/concurrency_bench.ts
 *
 * Also prints the heap per pending child (run with --v8-flags=--expose-gc for
 * a steadier figure).
 */
import { goScope, sleep } from "../concurrency/mod.ts";

const SPAWN = 100_000;
const SLEEPERS = 10_000;

const trivial = async (): Promise<void> => {};

Deno.bench({
  name: "Promise.all of 100,000 async functions",
  group: "spawn and join 100,000 children",
  baseline: true,
  async fn() {
    const all: Promise<void>[] = [];
    for (let i = 0; i < SPAWN; i++) all.push(trivial());
    await Promise.all(all);
  },
});

Deno.bench({
  name: "goScope with 100,000 children",
  group: "spawn and join 100,000 children",
  async fn() {
    await goScope((nursery) => {
      for (let i = 0; i < SPAWN; i++) nursery.go(trivial);
    });
  },
});

Deno.bench({
  name:
    "abort() to 10,000 sleepers settled: shared AbortController + Promise.allSettled",
  group: "cancel 10,000 sleeping children",
  baseline: true,
  async fn(b) {
    const controller = new AbortController();
    const signal = controller.signal;
    const all: Promise<void>[] = [];
    for (let i = 0; i < SLEEPERS; i++) all.push(sleep(3_600_000, { signal }));
    const settled = Promise.allSettled(all);
    b.start();
    controller.abort();
    await settled;
    b.end();
  },
});

Deno.bench({
  name: "cancel() to 10,000 sleepers settled: goScope",
  group: "cancel 10,000 sleeping children",
  async fn(b) {
    let cancel!: () => void;
    const scope = goScope((nursery) => {
      for (let i = 0; i < SLEEPERS; i++) {
        nursery.go((signal) => sleep(3_600_000, { signal }));
      }
      cancel = () => nursery.cancel();
    });
    b.start();
    cancel();
    await scope;
    b.end();
  },
});

Deno.bench({
  name:
    "cancel() to 10,000 sleepers settled: goScope, each with a signal of its own",
  group: "cancel 10,000 sleeping children",
  async fn(b) {
    const own = new AbortController().signal;
    let cancel!: () => void;
    const scope = goScope((nursery) => {
      for (let i = 0; i < SLEEPERS; i++) {
        nursery.go((signal) => sleep(3_600_000, { signal }), { signal: own });
      }
      cancel = () => nursery.cancel();
    });
    b.start();
    cancel();
    await scope;
    b.end();
  },
});

// Heap per pending child, printed once when the file loads. The baseline is
// the same pending async functions held in an array for Promise.all.
const PENDING = 100_000;
const gc = (globalThis as { gc?: () => void }).gc;

async function heapPerChild(
  spawn: (child: () => Promise<void>) => Promise<unknown>,
): Promise<number> {
  const { promise: gate, resolve: open } = Promise.withResolvers<void>();
  const child = async (): Promise<void> => {
    await gate;
  };
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  const joined = spawn(child);
  await Promise.resolve();
  const after = Deno.memoryUsage().heapUsed;
  open();
  await joined;
  return (after - before) / PENDING;
}

const nurseryBytes = await heapPerChild((child) =>
  goScope((nursery) => {
    for (let i = 0; i < PENDING; i++) nursery.go(child);
  })
);
const ownSignal = new AbortController().signal;
const ownSignalBytes = await heapPerChild((child) =>
  goScope((nursery) => {
    for (let i = 0; i < PENDING; i++) {
      nursery.go(child, { signal: ownSignal });
    }
  })
);
const baselineBytes = await heapPerChild((child) => {
  const all: Promise<void>[] = [];
  for (let i = 0; i < PENDING; i++) all.push(child());
  return Promise.all(all);
});
const note = gc === undefined
  ? " (run with --v8-flags=--expose-gc for steadier figures)"
  : "";
console.log(
  `heap per pending child: goScope ${nurseryBytes.toFixed(0)} B, ` +
    `Promise.all ${baselineBytes.toFixed(0)} B, ` +
    `ratio ${(nurseryBytes / baselineBytes).toFixed(2)}x; ` +
    `a child with its own signal (go(fn, { signal })) ${
      ownSignalBytes.toFixed(0)
    } B${note}`,
);
