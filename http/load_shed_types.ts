import type { ServerMetrics } from "./metrics.ts";
import type { ShedCounts, ShedReason } from "./metrics_snapshot.ts";

/**
 * Options of the adaptive mode of {@linkcode LoadShedder}, Facebook's
 * "adaptive CoDel" queue rule: a request may wait up to `intervalMs` while
 * the queue drains now and then, and at most `targetMs` once it has stood
 * for a whole `intervalMs` (overload), until `intervalMs` pass without a
 * refusal.
 */
export interface AdaptiveShedOptions {
  /**
   * The longest wait under overload, in milliseconds: requests that would
   * wait longer are refused at once (the critical class excepted).
   *
   * @default {5}
   */
  targetMs?: number;
  /**
   * The longest wait outside overload (capped by `maxQueueMs`), how long
   * the queue must stand before overload is declared and how long without a
   * refusal before it ends, and the base spacing of the steps that shed
   * whole priority classes, in milliseconds.
   *
   * @default {100}
   */
  intervalMs?: number;
  /**
   * Without `maxInFlight`, the adaptive mode limits the requests handled at
   * once by itself (a gradient limiter after Netflix's "Gradient2" and TCP
   * Vegas): it learns how long a slot is held without load, shrinks the
   * limit as hold times grow (a backend queueing internally) and grows it
   * while they stay flat. This is the limit it starts from. Ignored when
   * `maxInFlight` is set.
   *
   * @default {20}
   */
  initialLimit?: number;
  /**
   * The lowest the adaptive limit goes (see `initialLimit`).
   *
   * @default {2}
   */
  minLimit?: number;
  /**
   * The highest the adaptive limit goes (see `initialLimit`).
   *
   * @default {1024}
   */
  maxLimit?: number;
}

/** Options for {@linkcode LoadShedder}. */
export interface LoadShedderOptions {
  /**
   * Connections admitted at once; more are shed by `tryAdmitConnection()`.
   *
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * Tells the engine how to shed a connection: `true` closes it before the
   * TLS handshake (cheapest), `false` completes the handshake and writes
   * {@linkcode serviceUnavailableResponse} (friendlier to clients).
   *
   * @default {true}
   */
  shedBeforeHandshake?: boolean;
  /**
   * Requests handled at once; more wait in a queue. In adaptive mode
   * without it, the limit adapts to the hold times of slots (see
   * {@linkcode AdaptiveShedOptions.initialLimit}).
   *
   * @default {Infinity} (adaptive in adaptive mode)
   */
  maxInFlight?: number;
  /**
   * Longest a request may wait for admission, in milliseconds. A request
   * whose predicted wait is longer is shed at once; one that reaches it is
   * shed then. `0` disables queueing. In adaptive mode it caps the wait
   * bounds of the mode.
   *
   * @default {1000}
   */
  maxQueueMs?: number;
  /**
   * Requests waiting at once, all classes together.
   *
   * @default {1024}
   */
  maxQueueLength?: number;
  /**
   * Priority classes, highest first. The first is the critical class: it may
   * use `criticalReserve` slots above `maxInFlight` and is never shed by
   * priority or by the adaptive mode.
   *
   * @default {["critical", "normal", "low"]}
   */
  priorities?: readonly string[];
  /**
   * Slots above `maxInFlight` only the critical class may use.
   *
   * @default {Math.max(1, Math.ceil(maxInFlight / 10)) (0 when maxInFlight is Infinity; of the current limit when it adapts)}
   */
  criticalReserve?: number;
  /**
   * Bound the wait by the queue's state instead of `maxQueueMs` alone, and
   * shed whole low classes under overload (see
   * {@linkcode AdaptiveShedOptions}); `true` for the defaults.
   *
   * @default {false}
   */
  adaptive?: boolean | AdaptiveShedOptions;
  /**
   * The smallest `Retry-After` suggested, in seconds.
   *
   * @default {1}
   */
  retryAfterSeconds?: number;
  /**
   * Counters to update on every shed and queue change.
   *
   * @default {undefined}
   */
  metrics?: ServerMetrics;
  /**
   * The clock, in milliseconds; inject one in tests.
   *
   * @default {() => performance.now()}
   */
  now?: () => number;
}

/** Options for {@linkcode LoadShedder.admit}. */
export interface AdmitOptions {
  /**
   * Abandons the wait: the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A granted slot; call `release()` once the response is finished. */
export interface Admission {
  /** Always `true`, to tell it from a {@linkcode ShedDecision}. */
  readonly admitted: true;
  /** The priority class admitted. */
  readonly priority: string;
  /** Time spent waiting for the slot, in milliseconds. */
  readonly queuedMs: number;
  /** Frees the slot; later calls do nothing. */
  release(): void;
  /** Same as `release()`, for `using`. */
  [Symbol.dispose](): void;
}

/** A refused request: answer 503 with `Retry-After`. */
export interface ShedDecision {
  /** Always `false`. */
  readonly admitted: false;
  /** Why it was shed. */
  readonly reason: Exclude<ShedReason, "max_connections">;
  /** The priority class refused. */
  readonly priority: string;
  /** Suggested `Retry-After`, in seconds. */
  readonly retryAfterSeconds: number;
}

/** Counters and state of a {@linkcode LoadShedder}. */
export interface LoadShedderStats {
  /** Connections admitted and not released. */
  openConnections: number;
  /** Requests holding a slot. */
  inFlight: number;
  /** Requests waiting, all classes. */
  queued: number;
  /** Requests waiting, by class. */
  queuedByClass: Record<string, number>;
  /** Requests admitted since start. */
  admitted: number;
  /** Requests admitted since start, by class. */
  admittedByClass: Record<string, number>;
  /** Every shed since start, by reason. */
  shed: ShedCounts;
  /** Classes the adaptive mode sheds now, lowest first. */
  adaptiveShedding: string[];
  /**
   * Requests admitted at once now (the critical reserve not counted):
   * `maxInFlight`, or the adaptive limit's current value in adaptive mode
   * without `maxInFlight`; Infinity without a limit.
   */
  concurrencyLimit: number;
}
