import assert from "node:assert/strict";
import { ServerMetrics } from "../../http/metrics.ts";
import type { ServerMetricsSnapshot } from "../../http/metrics_snapshot.ts";
import { metricsText } from "../../http/metrics_text.ts";

import { parseExposition, value } from "./_prometheus.ts";

function busyMetrics(): ServerMetrics {
  const m = new ServerMetrics();
  for (let i = 0; i < 3; i++) m.connectionAccepted();
  m.connectionClosed();
  m.connectionShed();
  m.requestShed("queue_timeout");
  m.requestShed("adaptive");
  m.requestShed("adaptive");
  m.requestQueued();
  m.requestQueued();
  m.requestDequeued();
  for (
    const [status, ms] of [[200, 0.2], [204, 3], [302, 7], [404, 30], [
      500,
      20000,
    ]] as const
  ) {
    m.requestStarted();
    m.requestFinished(status, ms);
  }
  m.requestStarted(); // still in flight
  m.requestRejected(503);
  m.requestRejected(408);
  m.timeout("header");
  m.timeout("idle");
  m.timeout("idle");
  m.handshakeFailed();
  m.parseError();
  m.addBytesIn(1000);
  m.addBytesOut(2048);
  m.addBytesOut(100);
  return m;
}

Deno.test("ServerMetrics.snapshot() reports every counter the server bumped", () => {
  const s = busyMetrics().snapshot();
  assert.deepEqual(s.connections, {
    open: 2,
    accepted: 3,
    shed: 1,
    shedByReason: {
      max_connections: 1,
      queue_full: 0,
      queue_timeout: 1,
      priority: 0,
      adaptive: 2,
    },
  });
  assert.deepEqual(s.requests, {
    total: 7,
    inFlight: 1,
    queued: 1,
    shed: 3,
    byStatusClass: { "1xx": 0, "2xx": 2, "3xx": 1, "4xx": 2, "5xx": 2 },
  });
  assert.deepEqual(s.timeouts, {
    handshake: 0,
    header: 1,
    body: 0,
    idle: 2,
    write: 0,
  });
  assert.equal(s.handshakeFailures, 1);
  assert.equal(s.parseErrors, 1);
  assert.equal(s.bytesIn, 1000);
  assert.equal(s.bytesOut, 2148);
  assert.equal(s.latency.count, 5);
  assert.equal(s.latency.sumMs, 0.2 + 3 + 7 + 30 + 20000);
  const at = (bound: number) =>
    s.latency.counts[s.latency.boundsMs.indexOf(bound)];
  assert.equal(at(0.5), 1);
  assert.equal(at(5), 2);
  assert.equal(at(10), 3);
  assert.equal(at(25), 3);
  assert.equal(at(50), 4);
  assert.equal(at(10000), 4);
  assert.equal(s.latency.counts.at(-1), 5);
});

Deno.test("ServerMetrics histogram puts a value equal to a bound in that bucket", () => {
  const m = new ServerMetrics({ latencyBucketsMs: [1, 2] });
  m.requestStarted();
  m.requestFinished(200, 1);
  m.requestStarted();
  m.requestFinished(200, 2.0001);
  assert.deepEqual(m.snapshot().latency.counts, [1, 1, 2]);
});

Deno.test("ServerMetrics() rejects buckets that are not strictly increasing", () => {
  assert.throws(
    () => new ServerMetrics({ latencyBucketsMs: [1, 1] }),
    RangeError,
  );
  assert.throws(() => new ServerMetrics({ latencyBucketsMs: [] }), RangeError);
  assert.throws(
    () => new ServerMetrics({ latencyBucketsMs: [1, Infinity] }),
    RangeError,
  );
});

Deno.test("ServerMetrics.snapshot() returns a copy the server does not change later", () => {
  const m = new ServerMetrics();
  const before = m.snapshot();
  m.connectionAccepted();
  m.requestStarted();
  m.requestFinished(200, 1);
  assert.equal(before.connections.accepted, 0);
  assert.equal(before.latency.count, 0);
  assert.deepEqual(JSON.parse(JSON.stringify(before)), before);
});

Deno.test("ServerMetrics.merge() sums the snapshots of several workers", () => {
  const a = busyMetrics().snapshot();
  const b = busyMetrics().snapshot();
  const c = new ServerMetrics().snapshot();
  const all = ServerMetrics.merge([a, b, c]);
  assert.equal(all.connections.open, 4);
  assert.equal(all.connections.shedByReason.adaptive, 4);
  assert.equal(all.requests.byStatusClass["5xx"], 4);
  assert.equal(all.timeouts.idle, 4);
  assert.equal(all.bytesOut, 4296);
  assert.deepEqual(all.latency.counts, a.latency.counts.map((n) => 2 * n));
  assert.equal(a.connections.open, 2, "inputs are not modified");
  assert.deepEqual(ServerMetrics.merge([a]), a);
});

Deno.test("ServerMetrics.merge() rejects an empty list and different buckets", () => {
  assert.throws(() => ServerMetrics.merge([]), RangeError);
  const other = new ServerMetrics({ latencyBucketsMs: [1] }).snapshot();
  assert.throws(
    () => ServerMetrics.merge([new ServerMetrics().snapshot(), other]),
    RangeError,
  );
});

Deno.test("metricsText() renders valid Prometheus exposition text with the values", () => {
  const stats: ServerMetricsSnapshot = busyMetrics().snapshot();
  const families = parseExposition(metricsText(stats));
  for (const name of families.keys()) assert.match(name, /^quartz_http_/);
  assert.equal(families.get("quartz_http_connections_open")?.type, "gauge");
  assert.equal(
    families.get("quartz_http_connections_accepted_total")?.type,
    "counter",
  );
  assert.equal(value(families, "quartz_http_connections_open"), 2);
  assert.equal(value(families, "quartz_http_connections_accepted_total"), 3);
  assert.equal(
    value(families, "quartz_http_shed_total", { reason: "adaptive" }),
    2,
  );
  assert.equal(
    value(families, "quartz_http_shed_total", { reason: "max_connections" }),
    1,
  );
  assert.equal(
    value(families, "quartz_http_requests_total", { class: "5xx" }),
    2,
  );
  assert.equal(value(families, "quartz_http_requests_in_flight"), 1);
  assert.equal(value(families, "quartz_http_requests_queued"), 1);
  assert.equal(
    value(families, "quartz_http_timeouts_total", { kind: "idle" }),
    2,
  );
  assert.equal(value(families, "quartz_http_handshake_failures_total"), 1);
  assert.equal(value(families, "quartz_http_parse_errors_total"), 1);
  assert.equal(value(families, "quartz_http_received_bytes_total"), 1000);
  assert.equal(value(families, "quartz_http_sent_bytes_total"), 2148);
  const h = "quartz_http_request_duration_seconds";
  assert.equal(families.get(h)?.type, "histogram");
  assert.equal(value(families, `${h}_bucket`, { le: "0.0005" }), 1);
  assert.equal(value(families, `${h}_bucket`, { le: "0.05" }), 4);
  assert.equal(value(families, `${h}_bucket`, { le: "10" }), 4);
  assert.equal(value(families, `${h}_bucket`, { le: "+Inf" }), 5);
  assert.equal(value(families, `${h}_count`), 5);
  assert.ok(Math.abs(value(families, `${h}_sum`)! - 20.0402) < 1e-9);
});

Deno.test("metricsText() escapes constant label values and rejects bad label names", () => {
  const text = metricsText(new ServerMetrics().snapshot(), {
    labels: { worker: 'a"b\\c\nd', zone: "eu" },
  });
  const families = parseExposition(text);
  const sample = families.get("quartz_http_shed_total")!.samples[0]!;
  assert.deepEqual(sample.labels, {
    worker: 'a"b\\c\nd',
    zone: "eu",
    reason: "max_connections",
  });
  const bucket = families.get("quartz_http_request_duration_seconds")!
    .samples[0]!;
  assert.equal(bucket.labels.worker, 'a"b\\c\nd');
  assert.equal(bucket.labels.le, "0.0005");
  assert.ok(text.includes('worker="a\\"b\\\\c\\nd"'));
  for (const bad of ["1x", "a-b", "__reserved", ""]) {
    assert.throws(
      () =>
        metricsText(new ServerMetrics().snapshot(), { labels: { [bad]: "v" } }),
      RangeError,
    );
  }
});

Deno.test("metricsText() renders merged snapshots with an empty histogram", () => {
  const merged = ServerMetrics.merge([
    new ServerMetrics().snapshot(),
    new ServerMetrics().snapshot(),
  ]);
  const families = parseExposition(metricsText(merged));
  assert.equal(
    value(families, "quartz_http_request_duration_seconds_count"),
    0,
  );
});

Deno.test("parseExposition() in this test rejects malformed exposition text", () => {
  const bad = [
    '# HELP x_total y\n# TYPE x_total counter\nx_total{a="b} 1\n',
    "# HELP x_total y\n# TYPE x_total counter\nx_total 1.2.3\n",
    '# HELP x_total y\n# TYPE x_total counter\nx_total{a="\\q"} 1\n',
    "# HELP x y\n# TYPE x counter\nx 1\n",
    '# HELP h y\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n',
    '# HELP h y\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 0\nh_count 1\n',
    "# HELP 1x y\n",
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), text);
});

Deno.test("metricsText() exports the concurrency limit as a gauge only when one is set, summed by merge()", () => {
  const none = new ServerMetrics();
  assert.equal(none.snapshot().requests.concurrencyLimit, undefined);
  assert.equal(
    parseExposition(metricsText(none.snapshot()))
      .get("quartz_http_concurrency_limit"),
    undefined,
  );
  const a = new ServerMetrics();
  a.concurrencyLimitChanged(20);
  a.concurrencyLimitChanged(6);
  const families = parseExposition(metricsText(a.snapshot()));
  assert.equal(families.get("quartz_http_concurrency_limit")?.type, "gauge");
  assert.equal(value(families, "quartz_http_concurrency_limit"), 6);
  const b = new ServerMetrics();
  b.concurrencyLimitChanged(9);
  const all = ServerMetrics.merge([
    none.snapshot(),
    a.snapshot(),
    b.snapshot(),
  ]);
  assert.equal(all.requests.concurrencyLimit, 15);
});
