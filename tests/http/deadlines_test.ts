// The deadline wheel: one timer per server sweeps every connection's moving
// deadline; connections come and go in O(1) through intrusive links.

import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import fc from "fast-check";
import { DeadlineWheel, type Expirable } from "../../http/_deadlines.ts";

class Item implements Expirable {
  deadline = Infinity;
  wheelPrev: Expirable | null = null;
  wheelNext: Expirable | null = null;
  onWheel = false;
  expired = 0;
  closed = 0;
  constructor(readonly name: string, readonly onExpire = () => {}) {}
  expire(): void {
    this.expired++;
    this.onExpire();
  }
  close(): void {
    this.closed++;
  }
}

type Clock = ReturnType<typeof FakeTimers.install>;

function withClock(fn: (clock: Clock) => void): void {
  const clock = FakeTimers.install({
    toFake: ["setInterval", "clearInterval", "Date"],
    now: 1_000,
  });
  try {
    fn(clock);
    assert.equal(clock.countTimers(), 0, "no timer left behind");
  } finally {
    clock.uninstall();
  }
}

Deno.test("DeadlineWheel expires what is due at the next tick, once, and stops its timer a tick after it empties", () => {
  withClock((clock) => {
    const wheel = new DeadlineWheel(100);
    const a = new Item("a");
    const b = new Item("b");
    wheel.add(a);
    wheel.add(b);
    assert.equal(clock.countTimers(), 1);
    a.deadline = wheel.now + 150;
    b.deadline = wheel.now + 1_000;
    clock.tick(100);
    assert.equal(a.expired, 0);
    clock.tick(100);
    assert.equal(a.expired, 1);
    assert.equal(a.deadline, Infinity, "a deadline fires once");
    clock.tick(100);
    assert.equal(a.expired, 1);
    assert.deepEqual([...wheel].map((i) => (i as Item).name), ["a", "b"]);
    wheel.delete(a);
    wheel.delete(a);
    wheel.delete(b);
    assert.equal(wheel.size, 0);
    assert.deepEqual([...wheel], []);
    // One client after another: the timer is kept, not set again.
    assert.equal(clock.countTimers(), 1);
    wheel.add(a);
    wheel.delete(a);
    assert.equal(clock.countTimers(), 1);
    // A tick with nothing to watch stops it; the next add starts it again.
    clock.tick(100);
    assert.equal(clock.countTimers(), 0);
    wheel.add(b);
    assert.equal(clock.countTimers(), 1);
    b.deadline = wheel.now + 50;
    clock.tick(100);
    assert.equal(b.expired, 1);
    wheel.delete(b);
    // stop() ends it at once (the server is gone).
    wheel.stop();
    assert.equal(clock.countTimers(), 0);
  });
});

Deno.test("DeadlineWheel sweeps on when an expiry removes itself, its neighbour or adds another", () => {
  withClock((clock) => {
    const wheel = new DeadlineWheel(10);
    const late = new Item("late");
    const c = new Item("c");
    const b = new Item("b", () => {
      wheel.delete(b);
      wheel.delete(c);
      wheel.add(late);
      late.deadline = 0;
    });
    const a = new Item("a", () => wheel.delete(a));
    const d = new Item("d");
    for (const item of [a, b, c, d]) {
      wheel.add(item);
      item.deadline = 0;
    }
    clock.tick(10);
    // c was removed before the sweep reached it; late was added behind d.
    assert.deepEqual([a, b, c, d, late].map((i) => i.expired), [1, 1, 0, 1, 1]);
    assert.deepEqual([...wheel].map((i) => (i as Item).name), ["d", "late"]);
    wheel.delete(d);
    wheel.delete(late);
    wheel.stop();
  });
});

Deno.test("DeadlineWheel keeps exactly the items added and not removed, in order (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(9)), { maxLength: 60 }),
      (ops) => {
        withClock(() => {
          const wheel = new DeadlineWheel(10);
          const items = Array.from({ length: 10 }, (_, i) => new Item(`${i}`));
          const model: Item[] = [];
          for (const [add, i] of ops) {
            const item = items[i]!;
            if (add) {
              wheel.add(item);
              if (!model.includes(item)) model.push(item);
            } else {
              wheel.delete(item);
              const at = model.indexOf(item);
              if (at >= 0) model.splice(at, 1);
            }
          }
          assert.deepEqual([...wheel], model);
          assert.equal(wheel.size, model.length);
          for (const item of model) wheel.delete(item);
          wheel.stop();
        });
      },
    ),
  );
});
