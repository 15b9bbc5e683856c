import { DEFAULT_LATENCY_BUCKETS_MS, Histogram } from "./_histogram.ts";
import { addInto } from "./_snapshot_merge.ts";
import type {
  ServerMetricsSnapshot,
  ShedReason,
  TimeoutKind,
} from "./metrics_snapshot.ts";

/**
 * Options for {@linkcode ServerMetrics}.
 *
 * @example Coarse latency buckets for a slow backend
 * ```ts
 * import { ServerMetrics, type ServerMetricsOptions } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const options: ServerMetricsOptions = { latencyBucketsMs: [10, 100, 1000] };
 * const metrics = new ServerMetrics(options);
 * metrics.requestStarted();
 * metrics.requestFinished(200, 42);
 *
 * const { latency } = metrics.snapshot();
 * assert.deepEqual(latency.boundsMs, [10, 100, 1000]);
 * assert.deepEqual(latency.counts, [0, 1, 1, 1]); // cumulative, then +Inf
 * ```
 */
export interface ServerMetricsOptions {
  /**
   * Latency bucket upper bounds in milliseconds, strictly increasing.
   *
   * @default {[0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]}
   */
  latencyBucketsMs?: readonly number[];
}

/**
 * The live counters of one server. Every update is a method call that bumps
 * plain numeric fields: no map lookup and no allocation per request.
 *
 * @example Count a request and read the snapshot
 * ```ts
 * import { ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.connectionAccepted();
 * metrics.requestStarted();
 * metrics.requestFinished(200, 3.2);
 * const stats = metrics.snapshot();
 * assert.equal(stats.requests.byStatusClass["2xx"], 1);
 * assert.equal(stats.connections.open, 1);
 * ```
 */
export class ServerMetrics {
  #open = 0;
  #accepted = 0;
  #connShed = 0;
  #reqShed = 0;
  #shedMaxConn = 0;
  #shedQueueFull = 0;
  #shedQueueTimeout = 0;
  #shedPriority = 0;
  #shedAdaptive = 0;
  #total = 0;
  #inFlight = 0;
  #queued = 0;
  #limit = NaN;
  // Index = status / 100, so 1..5 are used.
  #byClass = new Float64Array(6);
  #tHandshake = 0;
  #tHeader = 0;
  #tBody = 0;
  #tIdle = 0;
  #tWrite = 0;
  #handshakeFailures = 0;
  #parseErrors = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #latency: Histogram;

  /**
   * Creates zeroed counters.
   *
   * @param options Histogram buckets.
   * @throws {RangeError} If the buckets are empty or not strictly increasing.
   */
  constructor(options: ServerMetricsOptions = {}) {
    this.#latency = new Histogram(
      options.latencyBucketsMs ?? DEFAULT_LATENCY_BUCKETS_MS,
    );
  }

  /** A connection was admitted. */
  connectionAccepted(): void {
    this.#open++;
    this.#accepted++;
  }

  /** An admitted connection closed (call once per `connectionAccepted()`). */
  connectionClosed(): void {
    this.#open--;
  }

  /** A connection was shed by `maxConnections` instead of admitted. */
  connectionShed(): void {
    this.#connShed++;
    this.#shedMaxConn++;
  }

  /**
   * A request was shed by admission control.
   *
   * @param reason Why it was shed.
   */
  requestShed(reason: ShedReason): void {
    this.#reqShed++;
    switch (reason) {
      case "queue_full":
        this.#shedQueueFull++;
        break;
      case "queue_timeout":
        this.#shedQueueTimeout++;
        break;
      case "priority":
        this.#shedPriority++;
        break;
      case "adaptive":
        this.#shedAdaptive++;
        break;
      case "max_connections":
        this.#shedMaxConn++;
        break;
    }
  }

  /** A request started waiting for admission. */
  requestQueued(): void {
    this.#queued++;
  }

  /** A request left the admission queue (admitted or shed). */
  requestDequeued(): void {
    this.#queued--;
  }

  /**
   * The in-flight limit of admission control is now `limit` (fixed, or
   * moved by the adaptive mode); exported as the
   * `quartz_http_concurrency_limit` gauge.
   *
   * @param limit Requests admitted at once (the critical reserve not
   *   counted).
   */
  concurrencyLimitChanged(limit: number): void {
    this.#limit = limit;
  }

  /** A request was handed to the handler. */
  requestStarted(): void {
    this.#inFlight++;
  }

  /**
   * A response started with `requestStarted()` finished.
   *
   * @param status The status code sent.
   * @param durationMs Time from request start to response finished.
   */
  requestFinished(status: number, durationMs: number): void {
    this.#inFlight--;
    this.#countStatus(status);
    this.#latency.record(durationMs);
  }

  /**
   * A response the engine sent without the handler (400, 408, 413, 431, or a
   * shed 503): counted by status, not in the latency histogram.
   *
   * @param status The status code sent.
   */
  requestRejected(status: number): void {
    this.#countStatus(status);
  }

  /**
   * A deadline expired.
   *
   * @param kind Which deadline.
   */
  timeout(kind: TimeoutKind): void {
    switch (kind) {
      case "handshake":
        this.#tHandshake++;
        break;
      case "header":
        this.#tHeader++;
        break;
      case "body":
        this.#tBody++;
        break;
      case "idle":
        this.#tIdle++;
        break;
      case "write":
        this.#tWrite++;
        break;
    }
  }

  /** A TLS handshake failed. */
  handshakeFailed(): void {
    this.#handshakeFailures++;
  }

  /** A request could not be parsed. */
  parseError(): void {
    this.#parseErrors++;
  }

  /**
   * Bytes were read from a peer.
   *
   * @param n Byte count.
   */
  addBytesIn(n: number): void {
    this.#bytesIn += n;
  }

  /**
   * Bytes were written to a peer.
   *
   * @param n Byte count.
   */
  addBytesOut(n: number): void {
    this.#bytesOut += n;
  }

  #countStatus(status: number): void {
    this.#total++;
    const cls = (status / 100) | 0;
    if (cls >= 1 && cls <= 5) this.#byClass[cls]!++;
  }

  /**
   * Copies the counters into a plain object.
   *
   * @returns The current stats.
   */
  snapshot(): ServerMetricsSnapshot {
    const c = this.#byClass;
    return {
      connections: {
        open: this.#open,
        accepted: this.#accepted,
        shed: this.#connShed,
        shedByReason: {
          max_connections: this.#shedMaxConn,
          queue_full: this.#shedQueueFull,
          queue_timeout: this.#shedQueueTimeout,
          priority: this.#shedPriority,
          adaptive: this.#shedAdaptive,
        },
      },
      requests: {
        total: this.#total,
        inFlight: this.#inFlight,
        queued: this.#queued,
        ...(Number.isNaN(this.#limit) ? {} : { concurrencyLimit: this.#limit }),
        shed: this.#reqShed,
        byStatusClass: {
          "1xx": c[1]!,
          "2xx": c[2]!,
          "3xx": c[3]!,
          "4xx": c[4]!,
          "5xx": c[5]!,
        },
      },
      timeouts: {
        handshake: this.#tHandshake,
        header: this.#tHeader,
        body: this.#tBody,
        idle: this.#tIdle,
        write: this.#tWrite,
      },
      handshakeFailures: this.#handshakeFailures,
      parseErrors: this.#parseErrors,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      latency: this.#latency.snapshot(),
    };
  }

  /**
   * Sums several snapshots (for example one per worker) into one. Gauges are
   * summed too, which is what a fleet total means.
   *
   * @example Merge two workers
   * ```ts
   * import { ServerMetrics } from "@quartz/std/http";
   * import assert from "node:assert/strict";
   *
   * const a = new ServerMetrics();
   * const b = new ServerMetrics();
   * a.connectionAccepted();
   * b.connectionAccepted();
   * const all = ServerMetrics.merge([a.snapshot(), b.snapshot()]);
   * assert.equal(all.connections.accepted, 2);
   * ```
   *
   * @param stats The snapshots; their latency buckets must be equal.
   * @returns A new snapshot holding the sums.
   * @throws {RangeError} If `stats` is empty or the buckets differ.
   */
  static merge(stats: readonly ServerMetricsSnapshot[]): ServerMetricsSnapshot {
    const first = stats[0];
    if (first === undefined) {
      throw new RangeError("Cannot merge an empty list of stats: length 0");
    }
    const out = structuredClone(first);
    for (let i = 1; i < stats.length; i++) addInto(out, stats[i]!);
    const limits = stats.map((s) => s.requests.concurrencyLimit)
      .filter((l) => l !== undefined);
    if (limits.length > 0) {
      out.requests.concurrencyLimit = limits.reduce((a, b) => a + b, 0);
    }
    return out;
  }
}
