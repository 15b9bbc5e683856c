import type { ServerMetrics } from "./metrics.ts";
import type { ShedCounts, ShedReason } from "./metrics_snapshot.ts";

/**
 * Options of the adaptive mode of {@linkcode LoadShedder}, Facebook's
 * "adaptive CoDel" queue rule: a request may wait up to `intervalMs` while
 * the queue drains now and then, and at most `targetMs` once it has stood
 * for a whole `intervalMs` (overload), until `intervalMs` pass without a
 * refusal.
 *
 * @example A tighter wait target with a bounded adaptive limit
 * ```ts
 * import { type AdaptiveShedOptions, LoadShedder } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const adaptive: AdaptiveShedOptions = {
 *   targetMs: 10,
 *   intervalMs: 200,
 *   initialLimit: 8,
 *   minLimit: 4,
 *   maxLimit: 64,
 * };
 * using shedder = new LoadShedder({ adaptive });
 * assert.equal(shedder.stats().concurrencyLimit, 8); // no maxInFlight: the limit adapts from 8
 *
 * const decision = shedder.admit("normal");
 * assert.ok(!(decision instanceof Promise) && decision.admitted);
 * decision.release();
 * ```
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

/**
 * Options for {@linkcode LoadShedder}.
 *
 * @example Limits with a reserve for the critical class
 * ```ts
 * import { LoadShedder, type LoadShedderOptions, ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * const options: LoadShedderOptions = {
 *   maxConnections: 2,
 *   maxInFlight: 1,
 *   maxQueueMs: 0,
 *   criticalReserve: 1,
 *   retryAfterSeconds: 2,
 *   metrics,
 * };
 * using shedder = new LoadShedder(options);
 *
 * assert.ok(shedder.tryAdmitConnection());
 * assert.ok(shedder.tryAdmitConnection());
 * assert.ok(!shedder.tryAdmitConnection()); // maxConnections reached
 *
 * const normal = shedder.admit("normal");
 * const critical = shedder.admit("critical"); // uses the reserved slot
 * const low = shedder.admit("low");
 * assert.ok(!(normal instanceof Promise) && normal.admitted);
 * assert.ok(!(critical instanceof Promise) && critical.admitted);
 * assert.ok(!(low instanceof Promise) && !low.admitted);
 * assert.equal(low.retryAfterSeconds, 2);
 * assert.equal(metrics.snapshot().connections.shed, 1);
 * normal.release();
 * critical.release();
 * ```
 */
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

/**
 * Options for {@linkcode LoadShedder.admit}.
 *
 * @example Abandoning the wait when the client goes away
 * ```ts
 * import { type AdmitOptions, LoadShedder } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * using shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 1000 });
 * const first = shedder.admit("normal");
 * assert.ok(!(first instanceof Promise) && first.admitted);
 *
 * const controller = new AbortController();
 * const options: AdmitOptions = { signal: controller.signal };
 * const waiting = shedder.admit("normal", options);
 * assert.ok(waiting instanceof Promise); // queued behind the first request
 * assert.equal(shedder.stats().queued, 1);
 *
 * const gone = new Error("Client disconnected");
 * controller.abort(gone);
 * await assert.rejects(waiting, (error) => error === gone);
 * assert.equal(shedder.stats().queued, 0);
 * first.release();
 * ```
 */
export interface AdmitOptions {
  /**
   * Abandons the wait: the promise rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * A granted slot; call `release()` once the response is finished.
 *
 * @example Holding the slot for the handler's duration with `using`
 * ```ts
 * import { LoadShedder } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * using shedder = new LoadShedder({ maxInFlight: 4 });
 * const decision = await shedder.admit("normal");
 * if (decision.admitted) {
 *   using _slot = decision; // released when the block ends
 *   assert.equal(decision.priority, "normal");
 *   assert.equal(decision.queuedMs, 0); // a free slot, no wait
 *   assert.equal(shedder.stats().inFlight, 1);
 * }
 * assert.equal(shedder.stats().inFlight, 0);
 * ```
 */
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

/**
 * A refused request: answer 503 with `Retry-After`.
 *
 * @example Turning a refusal into a 503 response
 * ```ts
 * import { LoadShedder, type ShedDecision } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * function unavailable(decision: ShedDecision): Response {
 *   return new Response("Service Unavailable", {
 *     status: 503,
 *     headers: { "Retry-After": String(decision.retryAfterSeconds) },
 *   });
 * }
 *
 * using shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 0, retryAfterSeconds: 3 });
 * const held = shedder.admit("normal");
 * const refused = shedder.admit("low");
 * assert.ok(!(refused instanceof Promise) && !refused.admitted);
 * assert.equal(refused.reason, "queue_timeout");
 *
 * const response = unavailable(refused);
 * assert.equal(response.status, 503);
 * assert.equal(response.headers.get("Retry-After"), "3");
 * if (!(held instanceof Promise) && held.admitted) held.release();
 * ```
 */
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

/**
 * Counters and state of a {@linkcode LoadShedder}.
 *
 * @example Reading the counters after a refusal
 * ```ts
 * import { LoadShedder, type LoadShedderStats } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * using shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 0 });
 * const held = shedder.admit("low");
 * shedder.admit("normal"); // refused: no slot free and no queueing
 *
 * const stats: LoadShedderStats = shedder.stats();
 * assert.equal(stats.inFlight, 1);
 * assert.equal(stats.concurrencyLimit, 1);
 * assert.deepEqual(stats.admittedByClass, { critical: 0, normal: 0, low: 1 });
 * assert.equal(stats.shed.queue_timeout, 1);
 * assert.deepEqual(stats.adaptiveShedding, []); // adaptive mode is off
 * if (!(held instanceof Promise) && held.admitted) held.release();
 * ```
 */
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
