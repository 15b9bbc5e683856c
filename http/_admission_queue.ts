// The load shedder's wait queue: one FIFO per priority class. An abandoned
// waiter is only marked done and skipped later, so an abort costs O(1).

import type { Admission, ShedDecision } from "./load_shed_types.ts";

/** A request waiting for a slot. */
export interface Waiter {
  cls: number;
  arrival: number;
  done: boolean;
  resolve: (v: Admission | ShedDecision) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The waiters of one class, oldest first; `live` counts those not done. */
export class FifoQueue {
  items: (Waiter | undefined)[] = [];
  head = 0;
  live = 0;
  push(w: Waiter): void {
    this.items.push(w);
    this.live++;
  }
  /** Oldest live waiter, skipping abandoned ones. */
  peek(): Waiter | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const w = items[this.head]!;
      if (!w.done) return w;
      items[this.head++] = undefined;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }
  shift(): Waiter | undefined {
    const w = this.peek();
    if (w !== undefined) {
      this.items[this.head++] = undefined;
      this.live--;
    }
    return w;
  }
  /** Newest live waiter, removed. */
  pop(): Waiter | undefined {
    const items = this.items;
    while (items.length > this.head) {
      const w = items.pop()!;
      if (!w.done) {
        this.live--;
        return w;
      }
    }
    return undefined;
  }
}

/** Waiters of class `cls` and the classes above it. */
export function waitingAhead(
  queues: readonly FifoQueue[],
  cls: number,
): number {
  let ahead = 0;
  for (let i = 0; i <= cls; i++) ahead += queues[i]!.live;
  return ahead;
}

/**
 * The newest waiter of the lowest class below `cls` that has one, removed;
 * it gives its place to a request of class `cls` when the queue is full.
 */
export function popLowerThan(
  queues: readonly FifoQueue[],
  cls: number,
): Waiter | undefined {
  let victim = queues.length - 1;
  while (victim > cls && queues[victim]!.live === 0) victim--;
  return victim > cls ? queues[victim]!.pop() : undefined;
}

/** How long the oldest waiter of any class has waited at `now`, or 0. */
export function standingDelay(
  queues: readonly FifoQueue[],
  now: number,
): number {
  let oldest = Infinity;
  for (const q of queues) {
    const w = q.live > 0 ? q.peek() : undefined;
    if (w !== undefined && w.arrival < oldest) oldest = w.arrival;
  }
  return oldest === Infinity ? 0 : now - oldest;
}
