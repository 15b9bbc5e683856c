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
