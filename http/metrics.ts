import { DEFAULT_LATENCY_BUCKETS_MS, Histogram } from "./_histogram.ts";

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
 */
export type ShedReason =
  | "max_connections"
  | "queue_full"
  | "queue_timeout"
  | "priority"
  | "adaptive";

/** Which deadline expired. */
export type TimeoutKind = "handshake" | "header" | "body" | "idle" | "write";

/** Shed counts, one field per {@linkcode ShedReason}. */
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

/** Timeout counts, one field per {@linkcode TimeoutKind}. */
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

/** Finished responses by status class. */
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

/** A latency histogram copy; `counts` are cumulative like Prometheus buckets. */
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

/** A plain, JSON-serialisable copy of a server's counters and gauges. */
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

/** Options for {@linkcode ServerMetrics}. */
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
    return out;
  }
}

/** Options for {@linkcode metricsText}. */
export interface MetricsTextOptions {
  /**
   * Constant labels added to every sample, e.g. `{ worker: "1" }`. Names must
   * match `[a-zA-Z_][a-zA-Z0-9_]*`; values are escaped.
   *
   * @default {{}}
   */
  labels?: Readonly<Record<string, string>>;
}

/**
 * Renders stats in the Prometheus text exposition format (version 0.0.4),
 * every metric named `quartz_http_*`; latency is exported in seconds as
 * `quartz_http_request_duration_seconds`. Serve it with
 * `Content-Type: text/plain; version=0.0.4`.
 *
 * @example Render a snapshot
 * ```ts
 * import { metricsText, ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.connectionAccepted();
 * const text = metricsText(metrics.snapshot(), { labels: { worker: "0" } });
 * assert.match(text, /^quartz_http_connections_accepted_total\{worker="0"\} 1$/m);
 * ```
 *
 * @param stats A snapshot from {@linkcode ServerMetrics.snapshot} or
 *   {@linkcode ServerMetrics.merge}.
 * @param options Constant labels.
 * @returns The exposition text, ending with a newline.
 * @throws {RangeError} If a label name is invalid.
 */
export function metricsText(
  stats: ServerMetricsSnapshot,
  options: MetricsTextOptions = {},
): string {
  const labels = options.labels ?? {};
  let base = "";
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new RangeError(`Invalid Prometheus label name: "${name}"`);
    }
    base += `${base ? "," : ""}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  const out: string[] = [];
  const P = "quartz_http_";
  const c = stats.connections;
  const r = stats.requests;
  family(out, `${P}connections_open`, "gauge", "Connections open now.", base, [
    ["", c.open],
  ]);
  family(
    out,
    `${P}connections_accepted_total`,
    "counter",
    "Connections admitted.",
    base,
    [["", c.accepted]],
  );
  family(
    out,
    `${P}connections_shed_total`,
    "counter",
    "Connections shed by maxConnections.",
    base,
    [["", c.shed]],
  );
  family(
    out,
    `${P}shed_total`,
    "counter",
    "Connections and requests shed, by reason.",
    base,
    pairs("reason", c.shedByReason),
  );
  family(
    out,
    `${P}requests_total`,
    "counter",
    "Responses finished, by status class.",
    base,
    pairs("class", r.byStatusClass),
  );
  family(
    out,
    `${P}requests_in_flight`,
    "gauge",
    "Requests being handled now.",
    base,
    [["", r.inFlight]],
  );
  family(
    out,
    `${P}requests_queued`,
    "gauge",
    "Requests waiting for admission now.",
    base,
    [["", r.queued]],
  );
  family(
    out,
    `${P}requests_shed_total`,
    "counter",
    "Requests shed by admission control.",
    base,
    [["", r.shed]],
  );
  family(
    out,
    `${P}timeouts_total`,
    "counter",
    "Expired deadlines, by kind.",
    base,
    pairs("kind", stats.timeouts),
  );
  family(
    out,
    `${P}handshake_failures_total`,
    "counter",
    "Failed TLS handshakes.",
    base,
    [["", stats.handshakeFailures]],
  );
  family(
    out,
    `${P}parse_errors_total`,
    "counter",
    "Requests that could not be parsed.",
    base,
    [["", stats.parseErrors]],
  );
  family(
    out,
    `${P}received_bytes_total`,
    "counter",
    "Bytes read from peers.",
    base,
    [["", stats.bytesIn]],
  );
  family(
    out,
    `${P}sent_bytes_total`,
    "counter",
    "Bytes written to peers.",
    base,
    [["", stats.bytesOut]],
  );
  const h = stats.latency;
  const name = `${P}request_duration_seconds`;
  out.push(
    `# HELP ${name} Time from request start to response finished.`,
    `# TYPE ${name} histogram`,
  );
  for (let i = 0; i < h.counts.length; i++) {
    const bound = h.boundsMs[i];
    const le = bound === undefined ? "+Inf" : formatValue(bound / 1000);
    out.push(
      `${name}_bucket{${base ? base + "," : ""}le="${le}"} ${
        formatValue(h.counts[i]!)
      }`,
    );
  }
  const braces = base ? `{${base}}` : "";
  out.push(`${name}_sum${braces} ${formatValue(h.sumMs / 1000)}`);
  out.push(`${name}_count${braces} ${formatValue(h.count)}`);
  return out.join("\n") + "\n";
}

function addInto(out: ServerMetricsSnapshot, s: ServerMetricsSnapshot): void {
  const oc = out.connections;
  oc.open += s.connections.open;
  oc.accepted += s.connections.accepted;
  oc.shed += s.connections.shed;
  addFields(oc.shedByReason, s.connections.shedByReason);
  const or = out.requests;
  or.total += s.requests.total;
  or.inFlight += s.requests.inFlight;
  or.queued += s.requests.queued;
  or.shed += s.requests.shed;
  addFields(or.byStatusClass, s.requests.byStatusClass);
  addFields(out.timeouts, s.timeouts);
  out.handshakeFailures += s.handshakeFailures;
  out.parseErrors += s.parseErrors;
  out.bytesIn += s.bytesIn;
  out.bytesOut += s.bytesOut;
  const a = out.latency;
  const b = s.latency;
  if (
    a.boundsMs.length !== b.boundsMs.length ||
    a.boundsMs.some((v, i) => v !== b.boundsMs[i])
  ) {
    throw new RangeError(
      `Cannot merge latency histograms with different buckets: ${
        b.boundsMs.join(",")
      }`,
    );
  }
  for (let i = 0; i < a.counts.length; i++) a.counts[i]! += b.counts[i]!;
  a.sumMs += b.sumMs;
  a.count += b.count;
}

function addFields<T extends object>(out: T, add: T): void {
  const o = out as Record<string, number>;
  const a = add as Record<string, number>;
  for (const key of Object.keys(o)) o[key]! += a[key] ?? 0;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (ch) => ch === "\n" ? "\\n" : "\\" + ch);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function pairs(label: string, counts: object): [string, number][] {
  return Object.entries(counts).map(([k, v]) => [`${label}="${k}"`, v]);
}

function family(
  out: string[],
  name: string,
  type: "counter" | "gauge",
  help: string,
  base: string,
  samples: [string, number][],
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    const all = base && labels ? `${base},${labels}` : base || labels;
    out.push(`${name}${all ? `{${all}}` : ""} ${formatValue(value)}`);
  }
}
