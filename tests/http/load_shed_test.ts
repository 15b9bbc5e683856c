import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import fc from "fast-check";
import { LoadShedder } from "../../http/load_shed.ts";
import type {
  Admission,
  LoadShedderOptions,
  ShedDecision,
} from "../../http/load_shed_types.ts";
import { serviceUnavailableResponse } from "../../http/service_unavailable.ts";
import { ServerMetrics } from "../../http/metrics.ts";
import { RawClient, startTls, statuses } from "./_helpers.ts";

type Clock = ReturnType<typeof FakeTimers.install>;

/** Runs `fn` with fake timers and a shedder reading the fake clock. */
async function withClock(
  options: LoadShedderOptions,
  fn: (shedder: LoadShedder, clock: Clock) => void | Promise<void>,
): Promise<void> {
  const clock = FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout"],
    now: 0,
  });
  try {
    await fn(new LoadShedder({ ...options, now: () => clock.now }), clock);
    assert.equal(clock.countTimers(), 0, "no timer left behind");
  } finally {
    clock.uninstall();
  }
}

function admitted(
  d: Admission | ShedDecision | Promise<Admission | ShedDecision>,
): Admission {
  assert.ok(!(d instanceof Promise), "expected a synchronous decision");
  assert.equal(d.admitted, true);
  return d as Admission;
}

function shed(
  d: Admission | ShedDecision | Promise<Admission | ShedDecision>,
): ShedDecision {
  assert.ok(!(d instanceof Promise), "expected a synchronous decision");
  assert.equal(d.admitted, false);
  return d as ShedDecision;
}

function queued(
  d: Admission | ShedDecision | Promise<Admission | ShedDecision>,
): Promise<Admission | ShedDecision> {
  assert.ok(d instanceof Promise, "expected the request to wait");
  return d;
}

/** Resolves pending promise callbacks without moving the fake clock. */
async function settle(clock: Clock): Promise<void> {
  await clock.tickAsync(0);
}

Deno.test("LoadShedder.tryAdmitConnection() sheds beyond maxConnections and counts it", () => {
  const metrics = new ServerMetrics();
  const shedder = new LoadShedder({ maxConnections: 2, metrics });
  assert.equal(shedder.shedBeforeHandshake, true);
  assert.equal(shedder.tryAdmitConnection(), true);
  assert.equal(shedder.tryAdmitConnection(), true);
  assert.equal(shedder.tryAdmitConnection(), false);
  assert.equal(shedder.tryAdmitConnection(), false);
  assert.equal(
    shedder.stats().openConnections,
    2,
    "sheds leave admitted alone",
  );
  shedder.releaseConnection();
  assert.equal(shedder.tryAdmitConnection(), true);
  assert.equal(shedder.stats().shed.max_connections, 2);
  const s = metrics.snapshot();
  assert.equal(s.connections.shed, 2);
  assert.equal(s.connections.shedByReason.max_connections, 2);
  assert.equal(
    new LoadShedder({ shedBeforeHandshake: false }).shedBeforeHandshake,
    false,
  );
});

Deno.test("LoadShedder.admit() answers synchronously below maxInFlight", () => {
  const shedder = new LoadShedder({ maxInFlight: 2 });
  const a = admitted(shedder.admit("normal"));
  const b = admitted(shedder.admit("low"));
  assert.equal(a.priority, "normal");
  assert.equal(a.queuedMs, 0);
  assert.equal(shedder.stats().inFlight, 2);
  a.release();
  a.release(); // a second release must not free another slot
  assert.equal(shedder.stats().inFlight, 1);
  {
    using _c = admitted(shedder.admit("normal"));
    assert.equal(shedder.stats().inFlight, 2);
  }
  b.release();
  assert.equal(shedder.stats().inFlight, 0);
  assert.deepEqual(shedder.stats().admittedByClass, {
    critical: 0,
    normal: 2,
    low: 1,
  });
});

Deno.test("LoadShedder.admit() queues beyond maxInFlight and admits when a slot frees", async () => {
  await withClock(
    { maxInFlight: 1, maxQueueMs: 1000 },
    async (shedder, clock) => {
      const first = admitted(shedder.admit("normal"));
      const wait = queued(shedder.admit("normal"));
      assert.equal(shedder.stats().queued, 1);
      await clock.tickAsync(30);
      first.release();
      const second = await wait;
      assert.equal(second.admitted, true);
      assert.equal((second as Admission).queuedMs, 30);
      assert.equal(shedder.stats().queued, 0);
      (second as Admission).release();
    },
  );
});

Deno.test("LoadShedder.admit() serves the highest waiting class first", async () => {
  await withClock(
    { maxInFlight: 1, criticalReserve: 0 },
    async (shedder, clock) => {
      const order: string[] = [];
      const slots: Admission[] = [admitted(shedder.admit("normal"))];
      const waits = ["low", "normal", "low", "critical", "normal"].map((p) =>
        queued(shedder.admit(p)).then((d) => {
          order.push(p);
          slots.push(d as Admission);
        })
      );
      for (let i = 0; i < waits.length; i++) {
        slots.at(-1)!.release();
        await settle(clock);
        assert.equal(order.length, i + 1, "one waiter per freed slot");
      }
      slots.at(-1)!.release();
      await Promise.all(waits);
      assert.deepEqual(order, ["critical", "normal", "normal", "low", "low"]);
    },
  );
});

Deno.test("LoadShedder.admit() lets critical requests use the reserve above maxInFlight", async () => {
  await withClock(
    { maxInFlight: 2, criticalReserve: 1 },
    async (shedder, clock) => {
      const n1 = admitted(shedder.admit("normal"));
      const n2 = admitted(shedder.admit("normal"));
      const c1 = admitted(shedder.admit("critical"));
      assert.equal(shedder.stats().inFlight, 3);
      const c2 = queued(shedder.admit("critical"));
      const n3 = queued(shedder.admit("normal"));
      n1.release();
      await settle(clock);
      // The freed slot goes to the critical waiter, not to the older normal one.
      const c2a = (await c2) as Admission;
      assert.equal(c2a.priority, "critical");
      assert.equal(shedder.stats().queuedByClass.normal, 1);
      c1.release();
      c2a.release();
      await settle(clock);
      const n3a = (await n3) as Admission;
      assert.equal(n3a.priority, "normal");
      n2.release();
      n3a.release();
    },
  );
});

Deno.test("LoadShedder.admit() sheds the lowest queued class first when the queue is full", async () => {
  const metrics = new ServerMetrics();
  await withClock(
    { maxInFlight: 1, maxQueueLength: 2, metrics },
    async (shedder, clock) => {
      const slot = admitted(shedder.admit("normal"));
      const low1 = queued(shedder.admit("low"));
      const low2 = queued(shedder.admit("low"));
      assert.equal(shed(shedder.admit("low")).reason, "queue_full");
      // A normal request takes the place of the newest low one.
      const normal = queued(shedder.admit("normal"));
      const evicted = (await low2) as ShedDecision;
      assert.equal(evicted.admitted, false);
      assert.equal(evicted.reason, "priority");
      assert.equal(evicted.priority, "low");
      const normal2 = queued(shedder.admit("normal"));
      assert.equal(((await low1) as ShedDecision).reason, "priority");
      assert.equal(shed(shedder.admit("normal")).reason, "queue_full");
      // Critical is still served, from the reserve.
      const critical = admitted(shedder.admit("critical"));
      critical.release();
      slot.release();
      await settle(clock);
      const n1 = (await normal) as Admission;
      n1.release();
      await settle(clock);
      ((await normal2) as Admission).release();
      const s = shedder.stats();
      assert.deepEqual(s.shed, {
        max_connections: 0,
        queue_full: 2,
        queue_timeout: 0,
        priority: 2,
        adaptive: 0,
      });
      assert.equal(metrics.snapshot().requests.shed, 4);
      assert.equal(metrics.snapshot().connections.shedByReason.priority, 2);
      assert.equal(metrics.snapshot().requests.queued, 0);
    },
  );
});

Deno.test("LoadShedder.admit() sheds a request that waited maxQueueMs", async () => {
  const metrics = new ServerMetrics();
  await withClock(
    { maxInFlight: 1, maxQueueMs: 100, metrics },
    async (shedder, clock) => {
      const slot = admitted(shedder.admit("normal"));
      let result: Admission | ShedDecision | undefined;
      void queued(shedder.admit("normal")).then((d) => result = d);
      await clock.tickAsync(40);
      let later: Admission | ShedDecision | undefined;
      void queued(shedder.admit("low")).then((d) => later = d);
      assert.equal(metrics.snapshot().requests.queued, 2);
      await clock.tickAsync(59);
      assert.equal(result, undefined, "still waiting at 99 ms");
      await clock.tickAsync(1);
      const r = result as ShedDecision | undefined;
      assert.equal(r?.admitted, false);
      assert.equal(r.reason, "queue_timeout");
      assert.equal(r.retryAfterSeconds, 1);
      assert.equal(later, undefined);
      await clock.tickAsync(40);
      assert.equal(
        (later as ShedDecision | undefined)?.reason,
        "queue_timeout",
      );
      assert.equal(shedder.stats().shed.queue_timeout, 2);
      assert.equal(metrics.snapshot().requests.queued, 0);
      slot.release();
    },
  );
});

Deno.test("LoadShedder.admit() sheds at once a request whose predicted wait exceeds maxQueueMs", async () => {
  await withClock(
    { maxInFlight: 1, maxQueueMs: 1000, criticalReserve: 0 },
    async (shedder, clock) => {
      // Teach the shedder that a request holds its slot for 400 ms.
      const warm = admitted(shedder.admit("normal"));
      await clock.tickAsync(400);
      warm.release();
      const slot = admitted(shedder.admit("normal"));
      const w1 = queued(shedder.admit("normal")); // ~400 ms
      const w2 = queued(shedder.admit("normal")); // ~800 ms
      const d = shed(shedder.admit("normal")); // ~1200 ms
      assert.equal(d.reason, "queue_timeout");
      // A critical request only counts the critical requests ahead of it.
      const c = queued(shedder.admit("critical", {}));
      slot.release();
      for (const w of [c, w1, w2]) {
        await settle(clock);
        ((await w) as Admission).release();
      }
    },
  );
});

Deno.test("LoadShedder.admit() lets a request wait only if its place in line gets a slot within maxQueueMs", async () => {
  await withClock(
    { maxInFlight: 2, maxQueueMs: 10 },
    async (shedder, clock) => {
      // Every slot is held 6 ms; one request arrives per ms, 3x capacity.
      const hold = (a: Admission) => setTimeout(() => a.release(), 6);
      let late = 0;
      let waited = 0;
      let refused = 0;
      for (let t = 0; t < 300; t++) {
        const d = shedder.admit("normal");
        if (d instanceof Promise) {
          void d.then((r) => {
            if (!r.admitted) late++;
            else {
              waited++;
              hold(r);
            }
          });
        } else if (d.admitted) hold(d);
        else refused++;
        await clock.tickAsync(1);
      }
      await clock.tickAsync(20);
      assert.equal(late, 0, "no request waited only to be refused");
      assert.ok(waited > 50, `requests waited for a slot: ${waited}`);
      assert.ok(refused > 150, `the excess was refused at once: ${refused}`);
    },
  );
});

Deno.test("LoadShedder.admit() with maxQueueMs 0 never queues", () => {
  const shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 0 });
  const slot = admitted(shedder.admit("low"));
  const d = shed(shedder.admit("normal"));
  assert.equal(d.reason, "queue_timeout");
  assert.equal(d.priority, "normal");
  slot.release();
});

Deno.test("LoadShedder.admit() rejects with the signal's reason when the wait is aborted", async () => {
  await withClock({ maxInFlight: 1 }, async (shedder) => {
    const slot = admitted(shedder.admit("normal"));
    const controller = new AbortController();
    const wait = queued(shedder.admit("normal", { signal: controller.signal }));
    const reason = new Error("Client went away");
    controller.abort(reason);
    await assert.rejects(wait, (e) => e === reason);
    assert.equal(shedder.stats().queued, 0);
    const gone = AbortSignal.abort(new Error("Already gone"));
    await assert.rejects(
      Promise.resolve(shedder.admit("normal", { signal: gone })),
      (e) => e === gone.reason,
    );
    slot.release();
    assert.equal(shedder.stats().inFlight, 0, "the aborted waiter got no slot");
  });
});

/** Holds a slot for `ms`, so the shedder learns the hold time. */
async function teachHold(
  shedder: LoadShedder,
  clock: Clock,
  ms: number,
): Promise<void> {
  const slot = admitted(shedder.admit("normal"));
  await clock.tickAsync(ms);
  slot.release();
}

Deno.test("LoadShedder adaptive mode lets a request wait up to intervalMs, and only targetMs once the queue has stood that long", async () => {
  await withClock(
    { maxInFlight: 1, adaptive: { targetMs: 5, intervalMs: 100 } },
    async (shedder, clock) => {
      const slot = admitted(shedder.admit("normal"));
      const first = queued(shedder.admit("normal")); // t=0: the queue forms
      await clock.tickAsync(30);
      let later: Admission | ShedDecision | undefined;
      void queued(shedder.admit("normal")).then((d) => later = d); // t=30
      await clock.tickAsync(69);
      assert.equal(later, undefined, "a burst may wait up to intervalMs");
      await clock.tickAsync(1);
      // t=100: the queue stood for a whole interval: overload, and the
      // request that waited only 70 ms is refused too.
      assert.equal(((await first) as ShedDecision).reason, "adaptive");
      const r = later as ShedDecision | undefined;
      assert.equal(r?.admitted, false);
      assert.equal(r.reason, "adaptive");
      // A new request may wait targetMs, no longer.
      let second: Admission | ShedDecision | undefined;
      void queued(shedder.admit("normal")).then((d) => second = d);
      await clock.tickAsync(4);
      assert.equal(second, undefined);
      await clock.tickAsync(1);
      assert.equal((second as ShedDecision | undefined)?.reason, "adaptive");
      // Overload ends intervalMs after the last refusal: waits are long again.
      await clock.tickAsync(100);
      let third: Admission | ShedDecision | undefined;
      void queued(shedder.admit("normal")).then((d) => third = d);
      await clock.tickAsync(50);
      assert.equal(third, undefined);
      slot.release();
      await settle(clock);
      const t = third as Admission | undefined;
      assert.equal(t?.admitted, true);
      assert.equal(t.queuedMs, 50);
      t.release();
      assert.equal(shedder.stats().shed.adaptive, 3);
    },
  );
});

Deno.test("LoadShedder adaptive mode refuses at once under overload a request predicted to wait past targetMs", async () => {
  const metrics = new ServerMetrics();
  await withClock(
    {
      maxInFlight: 1,
      criticalReserve: 0,
      adaptive: { targetMs: 5, intervalMs: 100 },
      metrics,
    },
    async (shedder, clock) => {
      await teachHold(shedder, clock, 20); // t=20
      const a = admitted(shedder.admit("normal"));
      // Not overloaded: a predicted wait of 20 ms is fine.
      let first: Admission | ShedDecision | undefined;
      void queued(shedder.admit("normal")).then((d) => first = d);
      await clock.tickAsync(100);
      // t=120: the queue stood for an interval; the waiter is refused.
      assert.equal((first as ShedDecision | undefined)?.reason, "adaptive");
      // Held 100 ms: the hold estimate is now mean 36 + 2 deviations of 20.
      a.release();
      const b = admitted(shedder.admit("normal"));
      // A newcomer would wait ~76 ms > 5 ms: refused at once.
      assert.equal(shed(shedder.admit("normal")).reason, "adaptive");
      await clock.tickAsync(71);
      // 5 ms left on the slot: this one may wait.
      const d = queued(shedder.admit("normal"));
      // The critical class keeps the long bound.
      const c = queued(shedder.admit("critical"));
      await clock.tickAsync(2);
      b.release();
      await settle(clock);
      const ca = (await c) as Admission;
      assert.equal(ca.priority, "critical");
      ca.release();
      await settle(clock);
      const da = (await d) as Admission;
      assert.equal(da.admitted, true);
      assert.equal(da.queuedMs, 2);
      da.release();
      assert.equal(shedder.stats().shed.adaptive, 2);
      assert.equal(metrics.snapshot().connections.shedByReason.adaptive, 2);
    },
  );
});

Deno.test("LoadShedder adaptive mode sheds the lowest class with traffic first, never critical, then serves it again", async () => {
  await withClock(
    {
      maxInFlight: 1,
      maxQueueMs: 60_000,
      criticalReserve: 1,
      priorities: ["critical", "normal", "low", "bulk"],
      adaptive: { targetMs: 5, intervalMs: 100 },
    },
    async (shedder, clock) => {
      const slot = admitted(shedder.admit("normal")); // t=0
      const low = queued(shedder.admit("low"));
      const normal = queued(shedder.admit("normal"));
      await clock.tickAsync(100);
      // t=100: overload; both waited past the 5 ms bound and are refused.
      assert.equal(((await low) as ShedDecision).reason, "adaptive");
      assert.equal(((await normal) as ShedDecision).reason, "adaptive");
      assert.deepEqual(shedder.stats().adaptiveShedding, []);
      // The control step: "normal" was refused while "low" had traffic, so
      // "low" is shed outright. "bulk" had none and costs no step.
      assert.equal(shed(shedder.admit("low")).reason, "adaptive");
      assert.deepEqual(shedder.stats().adaptiveShedding, ["bulk", "low"]);
      // Normal requests still wait their turn; critical ones use the reserve.
      const n2 = queued(shedder.admit("normal"));
      const critical = admitted(shedder.admit("critical"));
      critical.release();
      slot.release();
      await settle(clock);
      const served = (await n2) as Admission;
      assert.equal(served.admitted, true);
      served.release();
      // No refusal of a served class for an interval: "low" is served again.
      await clock.tickAsync(100);
      const lowAgain = admitted(shedder.admit("low"));
      assert.deepEqual(shedder.stats().adaptiveShedding, []);
      lowAgain.release();
      assert.equal(shedder.stats().shed.adaptive, 3);
    },
  );
});

Deno.test("LoadShedder adaptive mode does not shed a whole class when only one class is overloaded", async () => {
  await withClock(
    { maxInFlight: 1, adaptive: { targetMs: 5, intervalMs: 100 } },
    async (shedder, clock) => {
      let slot = admitted(shedder.admit("normal"));
      let served = 0;
      // Normal traffic alone, twice what one slot serves, for a second.
      for (let t = 0; t < 100; t++) {
        const d = shedder.admit("normal");
        if (d instanceof Promise) {
          void d.then((r) => {
            if (r.admitted) {
              served++;
              slot = r;
            }
          });
        }
        await clock.tickAsync(5);
        if (t % 2 === 1) {
          slot.release();
          await settle(clock);
        }
      }
      // Its excess is refused, but "normal" is never shed outright: "low"
      // has no traffic and "critical" nothing to gain.
      assert.deepEqual(shedder.stats().adaptiveShedding, []);
      assert.ok(served > 0);
      assert.ok(shedder.stats().shed.adaptive > 0);
      shedder[Symbol.dispose]();
      await settle(clock);
      slot.release();
    },
  );
});

Deno.test("LoadShedder adaptive mode under sustained overload refuses mostly the lowest class and serves every critical request", async () => {
  await withClock(
    { maxInFlight: 2, adaptive: true },
    async (shedder, clock) => {
      // Capacity 1 request / 3 ms. Offered: "low" 3x capacity, "normal"
      // half of it, "critical" a health check every 50 ms, for 3 s.
      const classes = ["critical", "normal", "low"] as const;
      const arrived = { critical: 0, normal: 0, low: 0 };
      const served = { critical: 0, normal: 0, low: 0 };
      const hold = (a: Admission) => setTimeout(() => a.release(), 6);
      const done = (r: Admission | ShedDecision) => {
        if (!r.admitted) return;
        served[r.priority as (typeof classes)[number]]++;
        hold(r);
      };
      for (let t = 0; t < 3000; t++) {
        const now: (typeof classes)[number][] = ["low"];
        if (t % 6 === 0) now.push("normal");
        if (t % 50 === 0) now.push("critical");
        for (const c of now) {
          arrived[c]++;
          const d = shedder.admit(c);
          if (d instanceof Promise) void d.then(done);
          else done(d);
        }
        await clock.tickAsync(1);
      }
      await clock.tickAsync(200);
      assert.equal(served.critical, arrived.critical);
      assert.ok(
        served.normal > 0.9 * arrived.normal,
        `normal served ${served.normal} of ${arrived.normal}`,
      );
      assert.ok(
        served.low < 0.2 * arrived.low,
        `low served ${served.low} of ${arrived.low}`,
      );
      assert.ok(shedder.stats().shed.adaptive > 0.8 * arrived.low);
    },
  );
});

Deno.test("LoadShedder adaptive mode does not shed a short burst", async () => {
  await withClock(
    { maxInFlight: 1, adaptive: true },
    async (shedder, clock) => {
      const slot = admitted(shedder.admit("normal"));
      const waits = [queued(shedder.admit("low"))];
      await clock.tickAsync(50);
      waits.push(queued(shedder.admit("low")));
      slot.release();
      for (const w of waits) {
        await settle(clock);
        const a = await w;
        assert.equal(a.admitted, true);
        (a as Admission).release();
      }
      assert.equal(shedder.stats().shed.adaptive, 0);
    },
  );
});

Deno.test("httpServeTlsOpts() with adaptiveShedding answers 503 with Retry-After once the queue has stood for intervalMs", async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const server = startTls(async (req) => {
    if (new URL(req.url).pathname === "/slow") await gate;
    return new Response("ok");
  }, { maxInFlight: 1, adaptiveShedding: { targetMs: 5, intervalMs: 50 } });
  const get = "GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n";
  await using first = await RawClient.tls(server);
  await first.send(get);
  for (let i = 0; server.stats().requests.inFlight < 1; i++) {
    assert.ok(i < 400, "the first request never started");
    await new Promise((r) => setTimeout(r, 5));
  }
  await using second = await RawClient.tls(server);
  // Waits in the queue; refused once the queue has stood for 50 ms.
  await second.send(get);
  const text = await second.readResponse();
  assert.deepEqual(statuses(text), [503]);
  assert.match(text, /\r\nRetry-After: 1\r\n/);
  // Overloaded now: the next one may wait 5 ms at most, on the same
  // connection (a refusal costs the client no new handshake).
  await second.send(get);
  assert.deepEqual(statuses(await second.readResponse()), [503]);
  open();
  assert.match(await first.readResponse(), /^HTTP\/1\.1 200 OK/);
  first.close();
  second.close();
  await server.shutdown({ graceMs: 1_000 });
  const stats = server.stats();
  assert.equal(stats.connections.shedByReason.adaptive, 2);
  assert.equal(stats.requests.shed, 2);
  assert.equal(stats.requests.queued, 0);
});

Deno.test("LoadShedder[Symbol.dispose]() sheds every waiting request", async () => {
  await withClock({ maxInFlight: 1, criticalReserve: 0 }, async (shedder) => {
    const slot = admitted(shedder.admit("normal"));
    const w = queued(shedder.admit("critical", {}));
    const w2 = queued(shedder.admit("low"));
    shedder[Symbol.dispose]();
    assert.equal(((await w) as ShedDecision).reason, "queue_full");
    assert.equal(((await w2) as ShedDecision).reason, "queue_full");
    slot.release();
  });
});

Deno.test("LoadShedder() validates its options and the priority class", () => {
  assert.throws(() => new LoadShedder({ maxInFlight: -1 }), RangeError);
  assert.throws(() => new LoadShedder({ maxQueueMs: NaN }), RangeError);
  assert.throws(() => new LoadShedder({ priorities: [] }), RangeError);
  assert.throws(() => new LoadShedder({ priorities: ["a", "a"] }), RangeError);
  assert.throws(() => new LoadShedder({ priorities: ["a b"] }), RangeError);
  const shedder = new LoadShedder({ priorities: ["admin", "web"] });
  assert.deepEqual(shedder.priorities, ["admin", "web"]);
  assert.throws(
    () => shedder.admit("normal"),
    (e) => e instanceof RangeError && /"normal"/.test(e.message),
  );
});

const decoder = new TextDecoder();

Deno.test("serviceUnavailableResponse() is one complete 503 response with Retry-After", () => {
  const bytes = serviceUnavailableResponse(7);
  const text = decoder.decode(bytes);
  const [head, body] = text.split("\r\n\r\n");
  assert.equal(body, "");
  const [status, ...lines] = head!.split("\r\n");
  assert.equal(status, "HTTP/1.1 503 Service Unavailable");
  const headers = new Map(lines.map((l) => {
    const i = l.indexOf(": ");
    return [l.slice(0, i).toLowerCase(), l.slice(i + 2)] as const;
  }));
  assert.equal(headers.get("content-length"), "0");
  assert.equal(headers.get("retry-after"), "7");
  assert.equal(headers.get("connection"), "close");
  const date = headers.get("date")!;
  assert.match(
    date,
    /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  );
  assert.ok(Math.abs(Date.parse(date) - Date.now()) < 5000);
  assert.equal(headers.size, 4);
});

Deno.test("serviceUnavailableResponse() sends a short body with its length", () => {
  const text = decoder.decode(
    serviceUnavailableResponse(1, { body: "Busy ✓\n" }),
  );
  const [head, body] = text.split("\r\n\r\n");
  assert.equal(body, "Busy ✓\n");
  assert.match(head!, /\r\nContent-Length: 9\r\n/);
  assert.match(head!, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  assert.throws(() => serviceUnavailableResponse(1.5), RangeError);
  assert.throws(() => serviceUnavailableResponse(-1), RangeError);
});

Deno.test("LoadShedder keeps its limits, serves waiters in class order and never lets one wait past maxQueueMs", async () => {
  const classes = ["critical", "normal", "low"];
  const op = fc.oneof(
    fc.record({ kind: fc.constant("admit" as const), cls: fc.nat(2) }),
    fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("tick" as const), ms: fc.nat(80) }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { maxLength: 60 }),
      fc.boolean(),
      async (ops, adaptive) => {
        const max = 3;
        const reserve = 1;
        await withClock({
          maxInFlight: max,
          criticalReserve: reserve,
          maxQueueMs: 200,
          maxQueueLength: 5,
          adaptive,
        }, async (shedder, clock) => {
          const held: Admission[] = [];
          const waiting = new Set<{ cls: number; arrival: number }>();
          const admittedFromQueue: number[] = [];
          const check = () => {
            const s = shedder.stats();
            assert.equal(s.inFlight, held.length);
            assert.ok(s.inFlight <= max + reserve);
            assert.equal(s.queued, waiting.size);
            for (const w of waiting) {
              assert.ok(clock.now - w.arrival < 200, "waited past maxQueueMs");
            }
            // Work-conserving: nobody waits while a slot they may use is free.
            if ([...waiting].some((w) => w.cls === 0)) {
              assert.equal(s.inFlight, max + reserve);
            }
            if (waiting.size > 0) assert.ok(s.inFlight >= max);
          };
          for (const o of ops) {
            if (o.kind === "admit") {
              const d = shedder.admit(classes[o.cls]!);
              if (d instanceof Promise) {
                const w = { cls: o.cls, arrival: clock.now };
                waiting.add(w);
                void d.then((r) => {
                  waiting.delete(w);
                  if (r.admitted) {
                    held.push(r);
                    admittedFromQueue.push(w.cls);
                    // No waiter of a higher class was passed over.
                    for (const other of waiting) assert.ok(other.cls >= w.cls);
                  }
                });
              } else if (d.admitted) held.push(d);
            } else if (o.kind === "release") {
              if (held.length > 0) {
                held.splice(o.pick % held.length, 1)[0]!.release();
              }
            } else await clock.tickAsync(o.ms);
            await settle(clock);
            check();
          }
          shedder[Symbol.dispose]();
          await settle(clock);
          for (const h of held) h.release();
          assert.equal(waiting.size, 0);
        });
      },
    ),
    { numRuns: 150 },
  );
});

/**
 * Closed-loop clients against a backend that serves `capacity` requests at
 * once, `serviceMs` each, and queues the rest internally: a slot taken with
 * `n` in flight is held `serviceMs * ceil(n / capacity)`. A shed client
 * retries 1 ms later. Runs for `ms` of fake time; returns the limit seen
 * every 100 ms.
 */
async function backendLoad(
  shedder: LoadShedder,
  clock: Clock,
  load: { capacity: number; serviceMs: number; clients: number; ms: number },
): Promise<number[]> {
  const end = clock.now + load.ms;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => setTimeout(resolve, ms));
  const client = async () => {
    while (clock.now < end) {
      const d = await shedder.admit("normal");
      if (!d.admitted) {
        await sleep(1);
        continue;
      }
      const n = shedder.stats().inFlight;
      await sleep(load.serviceMs * Math.ceil(n / load.capacity));
      d.release();
    }
  };
  const clients = Array.from({ length: load.clients }, client);
  const limits: number[] = [];
  while (clock.now < end) {
    await clock.tickAsync(100);
    limits.push(shedder.stats().concurrencyLimit);
  }
  await clock.tickAsync(1_000);
  await Promise.all(clients);
  return limits;
}

Deno.test("LoadShedder adaptive mode without maxInFlight shrinks the limit toward a queueing backend's capacity and grows it back", async () => {
  const metrics = new ServerMetrics();
  await withClock(
    { adaptive: true, metrics },
    async (shedder, clock) => {
      assert.equal(shedder.stats().concurrencyLimit, 20);
      assert.equal(metrics.snapshot().requests.concurrencyLimit, 20);
      // Light load first (2 clients on 4 backend slots): the no-load hold.
      await backendLoad(shedder, clock, {
        capacity: 4,
        serviceMs: 5,
        clients: 2,
        ms: 500,
      });
      // Overload: 40 clients on 4 slots.
      const loaded = await backendLoad(shedder, clock, {
        capacity: 4,
        serviceMs: 5,
        clients: 40,
        ms: 5_000,
      });
      // From 20 down to about capacity + sqrt(limit); a probe for the
      // no-load hold time halves it for a moment now and then.
      const settled = loaded.slice(-30).sort((a, b) => a - b);
      const median = settled[15]!;
      assert.ok(
        median >= 4 && median <= 8 && settled.at(-1)! <= 10,
        `limit under overload ${loaded.join(" ")}`,
      );
      // The backend recovers (capacity 64): hold times stay at the baseline.
      const recovered = await backendLoad(shedder, clock, {
        capacity: 64,
        serviceMs: 5,
        clients: 40,
        ms: 5_000,
      });
      // Grows while hold times stay flat, up to twice what 40 clients use.
      const last = recovered.slice(-10).sort((a, b) => a - b);
      assert.ok(
        last[5]! >= 40 && last.at(-1)! <= 82,
        `limit after recovery ${recovered.join(" ")}`,
      );
      assert.equal(
        metrics.snapshot().requests.concurrencyLimit,
        shedder.stats().concurrencyLimit,
      );
    },
  );
});

Deno.test("LoadShedder adaptive mode with maxInFlight keeps that fixed limit", async () => {
  await withClock(
    { adaptive: true, maxInFlight: 12 },
    async (shedder, clock) => {
      const limits = await backendLoad(shedder, clock, {
        capacity: 2,
        serviceMs: 5,
        clients: 40,
        ms: 2_000,
      });
      assert.ok(limits.every((l) => l === 12), limits.join(" "));
      assert.ok(shedder.stats().admitted > 0);
    },
  );
});

Deno.test("LoadShedder.stats() reports the concurrency limit", () => {
  assert.equal(new LoadShedder().stats().concurrencyLimit, Infinity);
  assert.equal(
    new LoadShedder({ maxInFlight: 7 }).stats().concurrencyLimit,
    7,
  );
  assert.equal(
    new LoadShedder({ adaptive: { initialLimit: 50, maxLimit: 40 } }).stats()
      .concurrencyLimit,
    40,
  );
  assert.throws(
    () => new LoadShedder({ adaptive: { minLimit: 8, maxLimit: 4 } }),
    RangeError,
  );
  assert.throws(
    () => new LoadShedder({ adaptive: { minLimit: 0 } }),
    RangeError,
  );
});

Deno.test("httpServeTlsOpts() with adaptiveShedding and no maxInFlight reports its adaptive limit in stats() and metricsText()", async () => {
  const adaptive = startTls(() => new Response("ok"), {
    adaptiveShedding: { initialLimit: 3 },
  });
  const fixed = startTls(() => new Response("ok"), {
    maxInFlight: 5,
    adaptiveShedding: { initialLimit: 3 },
  });
  try {
    assert.equal(adaptive.stats().requests.concurrencyLimit, 3);
    assert.match(
      adaptive.metricsText(),
      /^quartz_http_concurrency_limit 3$/m,
    );
    assert.equal(fixed.stats().requests.concurrencyLimit, 5);
  } finally {
    await adaptive.shutdown({ graceMs: 1_000 });
    await fixed.shutdown({ graceMs: 1_000 });
  }
});
