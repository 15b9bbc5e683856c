/**
 * Why a connection or a request was shed.
 *
 * - `max_connections`: the connection limit was reached (connection level).
 * - `queue_full`: the admission queue held `maxQueueLength` requests.
 * - `queue_timeout`: the request waited, or would have waited, longer than
 *   `maxQueueMs`.
 * - `priority`: a request of a higher class took the queue place.
 * - `adaptive`: refused by the adaptive mode (its wait bound under overload,
 *   or its class shed).
 *
 * @example Logging why a request was refused
 * ```ts
 * import { LoadShedder, type ShedReason } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const explain: Record<ShedReason, string> = {
 *   max_connections: "too many connections",
 *   queue_full: "admission queue full",
 *   queue_timeout: "no slot within maxQueueMs",
 *   priority: "displaced by a more important request",
 *   adaptive: "shed under overload",
 * };
 *
 * using shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 0 });
 * const held = shedder.admit("normal");
 * const refused = shedder.admit("normal");
 * assert.ok(!(refused instanceof Promise) && !refused.admitted);
 * const reason: ShedReason = refused.reason;
 * assert.equal(explain[reason], "no slot within maxQueueMs");
 * if (!(held instanceof Promise) && held.admitted) held.release();
 * ```
 */
export type ShedReason =
  | "max_connections"
  | "queue_full"
  | "queue_timeout"
  | "priority"
  | "adaptive";

/**
 * Which deadline expired.
 *
 * @example Counting the deadlines your own connection code enforces
 * ```ts
 * import { ServerMetrics, type TimeoutKind } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * const expired: TimeoutKind[] = ["header", "idle", "idle"];
 * for (const kind of expired) metrics.timeout(kind);
 *
 * const { timeouts } = metrics.snapshot();
 * assert.equal(timeouts.header, 1);
 * assert.equal(timeouts.idle, 2);
 * ```
 */
export type TimeoutKind = "handshake" | "header" | "body" | "idle" | "write";

/**
 * Shed counts, one field per {@linkcode ShedReason}.
 *
 * @example Totalling the sheds of a load shedder
 * ```ts
 * import { LoadShedder, type ShedCounts } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * using shedder = new LoadShedder({ maxConnections: 1, maxInFlight: 1, maxQueueMs: 0 });
 * shedder.tryAdmitConnection();
 * shedder.tryAdmitConnection(); // shed: max_connections
 * const held = shedder.admit("normal");
 * shedder.admit("normal"); // shed: queue_timeout
 *
 * const counts: ShedCounts = shedder.stats().shed;
 * assert.deepEqual(counts, {
 *   max_connections: 1,
 *   queue_full: 0,
 *   queue_timeout: 1,
 *   priority: 0,
 *   adaptive: 0,
 * });
 * assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 2);
 * if (!(held instanceof Promise) && held.admitted) held.release();
 * ```
 */
export interface ShedCounts {
  /** Connections shed by `maxConnections`. */
  max_connections: number;
  /** Requests refused because the queue was full. */
  queue_full: number;
  /** Requests refused because their wait exceeded `maxQueueMs`. */
  queue_timeout: number;
  /** Requests displaced by a higher priority class. */
  priority: number;
  /** Requests refused by the adaptive mode (wait bound or class shed). */
  adaptive: number;
}

/**
 * Timeout counts, one field per {@linkcode TimeoutKind}.
 *
 * @example Telling slow clients from idle keep-alive connections
 * ```ts
 * import { ServerMetrics, type TimeoutCounts } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.timeout("header");
 * metrics.timeout("body");
 * metrics.timeout("idle");
 *
 * const timeouts: TimeoutCounts = metrics.snapshot().timeouts;
 * const slowClients = timeouts.handshake + timeouts.header + timeouts.body + timeouts.write;
 * assert.equal(slowClients, 2);
 * assert.equal(timeouts.idle, 1); // a normal end of a keep-alive connection
 * ```
 */
export interface TimeoutCounts {
  /** TLS handshake did not finish in time. */
  handshake: number;
  /** Request head did not arrive in time. */
  header: number;
  /** Request body did not arrive in time. */
  body: number;
  /** Keep-alive connection stayed idle too long. */
  idle: number;
  /** The peer did not take the response in time. */
  write: number;
}

/**
 * Finished responses by status class.
 *
 * @example Computing the server error ratio
 * ```ts
 * import { ServerMetrics, type StatusClassCounts } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * for (const status of [200, 204, 404, 503]) {
 *   metrics.requestStarted();
 *   metrics.requestFinished(status, 5);
 * }
 *
 * const counts: StatusClassCounts = metrics.snapshot().requests.byStatusClass;
 * assert.deepEqual(counts, { "1xx": 0, "2xx": 2, "3xx": 0, "4xx": 1, "5xx": 1 });
 * const total = Object.values(counts).reduce((a, b) => a + b, 0);
 * assert.equal(counts["5xx"] / total, 0.25);
 * ```
 */
export interface StatusClassCounts {
  /** 100–199. */
  "1xx": number;
  /** 200–299. */
  "2xx": number;
  /** 300–399. */
  "3xx": number;
  /** 400–499. */
  "4xx": number;
  /** 500–599. */
  "5xx": number;
}

/**
 * A latency histogram copy; `counts` are cumulative like Prometheus buckets.
 *
 * @example Mean latency and the share of requests within a bound
 * ```ts
 * import { type LatencyHistogramSnapshot, ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * function shareWithin(h: LatencyHistogramSnapshot, boundMs: number): number {
 *   const i = h.boundsMs.indexOf(boundMs);
 *   if (i < 0) throw new RangeError(`Not a bucket bound: ${boundMs}`);
 *   return h.count === 0 ? 1 : h.counts[i]! / h.count;
 * }
 *
 * const metrics = new ServerMetrics({ latencyBucketsMs: [50, 250] });
 * for (const ms of [20, 30, 400, 30]) {
 *   metrics.requestStarted();
 *   metrics.requestFinished(200, ms);
 * }
 *
 * const latency: LatencyHistogramSnapshot = metrics.snapshot().latency;
 * assert.deepEqual(latency.counts, [3, 3, 4]);
 * assert.equal(latency.sumMs / latency.count, 120); // mean
 * assert.equal(shareWithin(latency, 50), 0.75);
 * ```
 */
export interface LatencyHistogramSnapshot {
  /** Bucket upper bounds in milliseconds, strictly increasing. */
  boundsMs: number[];
  /**
   * Cumulative counts: `counts[i]` observations were `<= boundsMs[i]`; the
   * extra last element is the `+Inf` bucket and equals `count`.
   */
  counts: number[];
  /** Sum of all observations in milliseconds. */
  sumMs: number;
  /** Number of observations. */
  count: number;
}

/**
 * A plain, JSON-serialisable copy of a server's counters and gauges.
 *
 * @example Shipping a snapshot as JSON and rendering the sum
 * ```ts
 * import { metricsText, ServerMetrics, type ServerMetricsSnapshot } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.connectionAccepted();
 * metrics.requestStarted();
 * metrics.requestFinished(200, 12);
 * metrics.addBytesOut(512);
 *
 * // A worker posts its snapshot as JSON; the parent sums them.
 * const json = JSON.stringify(metrics.snapshot());
 * const received: ServerMetricsSnapshot = JSON.parse(json);
 * assert.deepEqual(received, metrics.snapshot());
 *
 * const total = ServerMetrics.merge([received, metrics.snapshot()]);
 * assert.equal(total.requests.total, 2);
 * assert.equal(total.bytesOut, 1024);
 * assert.match(metricsText(total), /^quartz_http_requests_total\b/m);
 * ```
 */
export interface ServerMetricsSnapshot {
  /** Connection counters. */
  connections: {
    /** Connections admitted and not yet closed (gauge). */
    open: number;
    /** Connections admitted since start. */
    accepted: number;
    /** Connections shed (never admitted). */
    shed: number;
    /** Every shed, connection or request, by reason. */
    shedByReason: ShedCounts;
  };
  /** Request counters. */
  requests: {
    /** Responses finished, including rejected and shed ones. */
    total: number;
    /** Requests being handled (gauge). */
    inFlight: number;
    /** Requests waiting for admission (gauge). */
    queued: number;
    /**
     * Requests admission control lets in at once now (gauge): `maxInFlight`,
     * or the adaptive limit's current value. Absent without a finite limit.
     */
    concurrencyLimit?: number;
    /** Requests shed by admission control. */
    shed: number;
    /** Responses by status class. */
    byStatusClass: StatusClassCounts;
  };
  /** Expired deadlines by kind. */
  timeouts: TimeoutCounts;
  /** TLS handshakes that failed (not counting handshake timeouts). */
  handshakeFailures: number;
  /** Requests that could not be parsed (answered 400/413/431 or closed). */
  parseErrors: number;
  /** Bytes read from peers (after TLS decryption). */
  bytesIn: number;
  /** Bytes written to peers (heads and bodies, before TLS encryption). */
  bytesOut: number;
  /** Handler latency (request start to response finished). */
  latency: LatencyHistogramSnapshot;
}
