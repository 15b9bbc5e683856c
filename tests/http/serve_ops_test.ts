// httpServeTlsOpts() under overload (maxConnections, maxInFlight, maxQueueMs,
// priorities) and its metrics (stats(), metricsText()) over real sockets.
// Handlers block on promises the tests release, never on sleeps.

import assert from "node:assert/strict";
import type { HttpServer } from "../../http/mod.ts";
import { tlsConnectAsync } from "../../tls/mod.ts";
import { CA, RawClient, startTls, statuses } from "./_helpers.ts";
import { parseExposition, value } from "./_prometheus.ts";

const H = "Host: localhost\r\n";

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => open = resolve);
  return { promise, open };
}

/** Polls `check` until it returns true (real I/O settles in a few ticks). */
async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`Timed out waiting for ${what}`);
}

/** A handler: `/slow` waits for the gate, everything else answers at once. */
function blocking(g: { promise: Promise<void> }) {
  return async (req: Request): Promise<Response> => {
    if (new URL(req.url).pathname === "/slow") await g.promise;
    return new Response("ok");
  };
}

const priority = (req: Request): "critical" | "normal" =>
  new URL(req.url).pathname === "/healthz" ? "critical" : "normal";

async function openSlow(server: HttpServer, n: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RawClient.tls(server);
    await c.send(`GET /slow HTTP/1.1\r\n${H}\r\n`);
    clients.push(c);
  }
  return clients;
}

Deno.test("httpServeTlsOpts() answers requests over maxInFlight with 503 and Retry-After at once", async () => {
  const g = gate();
  const server = startTls(blocking(g), {
    maxInFlight: 2,
    maxQueueMs: 0,
    retryAfterSeconds: 3,
    priority,
  });
  const admitted = await openSlow(server, 2);
  await waitFor(() => server.stats().requests.inFlight === 2, "2 in flight");
  // Overload: many more clients than slots, all while the slots are held.
  const shed = await Promise.all(
    Array.from({ length: 4 }, async () => {
      await using c = await RawClient.tls(server);
      // A refused request leaves the connection usable: a retry on it costs
      // no new handshake (and is refused again while the slots are held).
      const texts = [];
      for (let i = 0; i < 2; i++) {
        await c.send(`GET /slow HTTP/1.1\r\n${H}\r\n`);
        texts.push(await c.readResponse());
      }
      return texts;
    }),
  );
  for (const text of shed.flat()) {
    assert.deepEqual(statuses(text), [503]);
    assert.match(text, /\r\nRetry-After: 3\r\n/);
    assert.doesNotMatch(text, /\r\nConnection: close\r\n/);
    assert.match(text, /\r\nContent-Length: 0\r\n/);
  }
  // A body that came whole with the head is past: the connection stays.
  {
    await using c = await RawClient.tls(server);
    await c.send(`POST /slow HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`);
    const text = await c.readResponse();
    assert.deepEqual(statuses(text), [503]);
    assert.doesNotMatch(text, /\r\nConnection: close\r\n/);
  }
  // With a request body still to come (or HTTP/1.0) the connection closes.
  for (
    const req of [
      `POST /slow HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\na`,
      `GET /slow HTTP/1.0\r\n${H}\r\n`,
    ]
  ) {
    await using c = await RawClient.tls(server);
    await c.send(req);
    const text = await c.readToEnd();
    assert.deepEqual(statuses(text), [503]);
    assert.match(text, /\r\nConnection: close\r\n/);
  }
  // A critical request still gets through: the process stays responsive.
  await using health = await RawClient.tls(server);
  await health.send(`GET /healthz HTTP/1.1\r\n${H}\r\n`);
  assert.match(await health.readResponse(), /^HTTP\/1\.1 200 OK/);
  g.open();
  for (const c of admitted) {
    assert.match(await c.readResponse(), /^HTTP\/1\.1 200 OK/);
    c.close();
  }
  health.close();
  await server.shutdown({ graceMs: 1_000 });
  const stats = server.stats();
  // 8 retried GETs, the whole-body POST, the POST still sending, HTTP/1.0.
  assert.equal(stats.connections.shedByReason.queue_timeout, 11);
  assert.equal(stats.requests.shed, 11);
  assert.equal(stats.requests.byStatusClass["5xx"], 11);
  assert.equal(stats.requests.byStatusClass["2xx"], 3);
  assert.equal(stats.requests.inFlight, 0);
});

Deno.test("httpServeTlsOpts() queues a request for a free slot within maxQueueMs", async () => {
  const g = gate();
  const server = startTls(blocking(g), { maxInFlight: 1, maxQueueMs: 30_000 });
  const [first, second] = await openSlow(server, 2);
  await waitFor(() => server.stats().requests.queued === 1, "1 queued");
  assert.equal(server.stats().requests.inFlight, 1);
  g.open();
  assert.match(await first!.readResponse(), /^HTTP\/1\.1 200 OK/);
  assert.match(await second!.readResponse(), /^HTTP\/1\.1 200 OK/);
  first!.close();
  second!.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.equal(server.stats().requests.shed, 0);
  assert.equal(server.stats().requests.queued, 0);
});

Deno.test("httpServeTlsOpts() sheds a queued request once it has waited maxQueueMs", async () => {
  const g = gate();
  const server = startTls(blocking(g), { maxInFlight: 1, maxQueueMs: 50 });
  const [first] = await openSlow(server, 1);
  await waitFor(() => server.stats().requests.inFlight === 1, "1 in flight");
  const [second] = await openSlow(server, 1);
  const text = await second!.readResponse();
  assert.deepEqual(statuses(text), [503]);
  assert.match(text, /\r\nRetry-After: 1\r\n/);
  g.open();
  assert.match(await first!.readResponse(), /^HTTP\/1\.1 200 OK/);
  first!.close();
  second!.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.equal(server.stats().connections.shedByReason.queue_timeout, 1);
});

Deno.test("httpServeTlsOpts() sheds queued requests when a shutdown's grace period ends", async () => {
  const g = gate();
  const server = startTls(blocking(g), { maxInFlight: 1, maxQueueMs: 60_000 });
  const [first, second] = await openSlow(server, 2);
  await waitFor(() => server.stats().requests.queued === 1, "1 queued");
  await server.shutdown({ graceMs: 50 });
  g.open();
  first!.close();
  second!.close();
  assert.equal(server.stats().requests.queued, 0);
  assert.equal(server.stats().connections.shedByReason.queue_full, 1);
});

Deno.test("httpServeTlsOpts() answers a connection over maxConnections with 503 after the handshake", async () => {
  const server = startTls(() => new Response("ok"), {
    maxConnections: 1,
    shedBeforeHandshake: false,
  });
  await using kept = await RawClient.tls(server);
  await kept.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await kept.readResponse(), /^HTTP\/1\.1 200 OK/);
  for (let i = 0; i < 3; i++) {
    await using extra = await RawClient.tls(server);
    const text = await extra.readToEnd();
    assert.deepEqual(statuses(text), [503]);
    assert.match(text, /\r\nRetry-After: 1\r\nConnection: close\r\n/);
  }
  // The admitted connection never noticed.
  await kept.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await kept.readResponse(), /^HTTP\/1\.1 200 OK/);
  kept.close();
  await server.shutdown({ graceMs: 1_000 });
  const stats = server.stats();
  assert.equal(stats.connections.shed, 3);
  assert.equal(stats.connections.shedByReason.max_connections, 3);
  assert.equal(stats.connections.accepted, 1);
  assert.equal(stats.requests.byStatusClass["5xx"], 3);
});

Deno.test("httpServeTlsOpts() closes a connection over maxConnections before its handshake", async () => {
  const server = startTls(() => new Response("ok"), { maxConnections: 1 });
  await using kept = await RawClient.tls(server);
  await kept.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await kept.readResponse(), /^HTTP\/1\.1 200 OK/);
  await assert.rejects(async () => {
    const stream = await tlsConnectAsync({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [CA],
      timeoutMs: 5_000,
    });
    // A handshake may look done on the client before the close arrives.
    try {
      const n = await stream.read(new Uint8Array(16));
      if (n === null) throw new Error("Closed without a response");
    } finally {
      stream.close();
    }
  });
  await waitFor(() => server.stats().connections.shed === 1, "1 shed");
  await kept.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await kept.readResponse(), /^HTTP\/1\.1 200 OK/);
  kept.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.equal(server.stats().connections.shedByReason.max_connections, 1);
  assert.equal(server.stats().handshakeFailures, 0);
});

Deno.test("httpServeTlsOpts() reports a priority() that throws and serves the request as normal", async () => {
  const errors: unknown[] = [];
  const server = startTls(() => new Response("ok"), {
    maxInFlight: 4,
    priority: () => {
      throw new Error("Priority failed");
    },
    onError: (e) => void errors.push(e),
  });
  await using c = await RawClient.tls(server);
  await c.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await c.readResponse(), /^HTTP\/1\.1 200 OK/);
  c.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /Priority failed/);
});

Deno.test("httpServeTlsOpts() rejects invalid shedding and logging options synchronously", () => {
  const ok = () => new Response("ok");
  assert.throws(() => startTls(ok, { maxInFlight: -1 }), RangeError);
  assert.throws(() => startTls(ok, { maxConnections: NaN }), RangeError);
  assert.throws(
    () => startTls(ok, { maxInFlight: 1, retryAfterSeconds: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => startTls(ok, { maxInFlight: 1, shedBeforeHandshake: "no" as never }),
    TypeError,
  );
  assert.throws(() => startTls(ok, { priority: "low" as never }), TypeError);
  assert.throws(
    () => startTls(ok, { accessLog: { format: "apache" as never } }),
    TypeError,
  );
});

Deno.test("HttpServer.metricsText() of a live server parses and counts what was sent", async () => {
  const server = startTls((req) => {
    const path = new URL(req.url).pathname;
    return new Response(path === "/missing" ? "no" : "hello", {
      status: path === "/missing" ? 404 : 200,
    });
  });
  const encoder = new TextEncoder();
  let sent = 0;
  let received = 0;
  await using c = await RawClient.tls(server);
  for (const path of ["/", "/a", "/missing", "/b"]) {
    const req = `GET ${path} HTTP/1.1\r\n${H}User-Agent: t\r\n\r\n`;
    sent += encoder.encode(req).length;
    await c.send(req);
    received += encoder.encode(await c.readResponse()).length;
  }
  await waitFor(
    () => server.stats().bytesOut === received,
    "bytes out to match",
  );
  const families = parseExposition(server.metricsText({ labels: { w: "0" } }));
  const w = { w: "0" };
  assert.equal(value(families, "quartz_http_connections_open", w), 1);
  assert.equal(
    value(families, "quartz_http_connections_accepted_total", w),
    1,
  );
  assert.equal(
    value(families, "quartz_http_requests_total", { ...w, class: "2xx" }),
    3,
  );
  assert.equal(
    value(families, "quartz_http_requests_total", { ...w, class: "4xx" }),
    1,
  );
  assert.equal(value(families, "quartz_http_received_bytes_total", w), sent);
  assert.equal(value(families, "quartz_http_sent_bytes_total", w), received);
  assert.equal(
    value(families, "quartz_http_request_duration_seconds_count", w),
    4,
  );
  assert.equal(value(families, "quartz_http_requests_in_flight", w), 0);
  assert.equal(
    value(families, "quartz_http_shed_total", { ...w, reason: "adaptive" }),
    0,
  );
  c.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.equal(server.stats().connections.open, 0);
});

Deno.test("httpServeTlsOpts() counts timeouts, parse errors and rejected statuses in stats()", async () => {
  const server = startTls(() => new Response("ok"), { headerTimeoutMs: 100 });
  await using bad = await RawClient.tls(server);
  await bad.send(`GET / HTTP/1.1\r\nBad Header\r\n\r\n`);
  assert.deepEqual(statuses(await bad.readToEnd()), [400]);
  await using slow = await RawClient.tls(server);
  await slow.send("GET / HT");
  assert.deepEqual(statuses(await slow.readToEnd()), [408]);
  bad.close();
  slow.close();
  await server.shutdown({ graceMs: 1_000 });
  const stats = server.stats();
  assert.equal(stats.timeouts.header, 1);
  assert.equal(stats.parseErrors, 1);
  assert.equal(stats.requests.byStatusClass["4xx"], 2);
  assert.equal(stats.requests.total, 2);
  assert.equal(stats.latency.count, 0, "no handler ran");
});

Deno.test("httpServeTlsOpts() gives a freed slot to the highest priority class waiting", async () => {
  const g = gate();
  const order: string[] = [];
  const server = startTls(async (req) => {
    const path = new URL(req.url).pathname;
    order.push(path);
    if (path === "/slow") await g.promise;
    return new Response("ok");
  }, {
    maxInFlight: 1,
    maxQueueMs: 30_000,
    priority: (req) => new URL(req.url).pathname === "/low" ? "low" : "normal",
  });
  const [holder] = await openSlow(server, 1);
  await waitFor(() => server.stats().requests.inFlight === 1, "1 in flight");
  await using low = await RawClient.tls(server);
  await low.send(`GET /low HTTP/1.1\r\n${H}\r\n`);
  await waitFor(() => server.stats().requests.queued === 1, "low queued");
  await using normal = await RawClient.tls(server);
  await normal.send(`GET /normal HTTP/1.1\r\n${H}\r\n`);
  await waitFor(() => server.stats().requests.queued === 2, "both queued");
  g.open();
  assert.match(await low.readResponse(), /^HTTP\/1\.1 200 OK/);
  assert.match(await normal.readResponse(), /^HTTP\/1\.1 200 OK/);
  assert.deepEqual(order, ["/slow", "/normal", "/low"]);
  holder!.close();
  low.close();
  normal.close();
  await server.shutdown({ graceMs: 1_000 });
});
