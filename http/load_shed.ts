import { AdaptiveController } from "./_codel.ts";
import { ConcurrencyLimit } from "./_concurrency_limit.ts";
import {
  FifoQueue,
  popLowerThan,
  standingDelay,
  type Waiter,
  waitingAhead,
} from "./_admission_queue.ts";
import { type ReleaseFn, Slot } from "./_admission_slot.ts";
import { resolveShedOptions } from "./_shed_options.ts";
import { WaitPredictor } from "./_wait_prediction.ts";
import type {
  Admission,
  AdmitOptions,
  LoadShedderOptions,
  LoadShedderStats,
  ShedDecision,
} from "./load_shed_types.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { ShedCounts, ShedReason } from "./metrics_snapshot.ts";

/**
 * Admission control for connections and requests: connection and in-flight
 * limits, a bounded wait by priority class, and an optional adaptive mode
 * that shortens the wait to a target while the queue stands, sheds whole
 * low classes under overload and, without `maxInFlight`, adapts the
 * in-flight limit to how long slots are held. A request is let in to wait
 * only if its place in line is predicted to get a slot within its bound, so
 * a refused request is nearly always refused at once. Every shed is counted
 * by reason.
 *
 * @example Admit a request, shed when full
 * ```ts
 * import { LoadShedder } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const shedder = new LoadShedder({ maxInFlight: 1, maxQueueMs: 0 });
 * const first = shedder.admit("normal");
 * assert.ok(!(first instanceof Promise) && first.admitted);
 * const second = shedder.admit("normal");
 * assert.ok(!(second instanceof Promise) && !second.admitted);
 * assert.equal(second.reason, "queue_timeout");
 * first.release();
 * ```
 */
export class LoadShedder {
  #maxConnections: number;
  #shedBeforeHandshake: boolean;
  #maxInFlight: number;
  #criticalLimit: number;
  #maxQueueMs: number;
  #maxQueueLength: number;
  #classes: readonly string[];
  #retryAfter: number;
  #metrics: ServerMetrics | undefined;
  #now: () => number;
  #codel: AdaptiveController | undefined;
  /** The adaptive limit (adaptive mode without maxInFlight). */
  #limiter: ConcurrencyLimit | undefined;
  /** The critical reserve set by the user; NaN: a tenth of the limit. */
  #reserve: number;
  #predictor = new WaitPredictor();
  /** Whether slots are timed for the prediction (finite maxInFlight). */
  #track: boolean;
  #timerAt = Infinity;
  #connections = 0;
  #inFlight = 0;
  #queued = 0;
  #queues: FifoQueue[];
  #admitted: Float64Array;
  #shed: ShedCounts = {
    max_connections: 0,
    queue_full: 0,
    queue_timeout: 0,
    priority: 0,
    adaptive: 0,
  };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #releaseFn: ReleaseFn<LoadShedder>;

  /**
   * Creates a controller; it holds no resource until a request waits.
   *
   * @param options Limits, classes and mode.
   * @throws {RangeError} If a limit is negative or NaN, a bound of the
   *   adaptive limit is not an integer of at least 1 (or `maxLimit` is below
   *   `minLimit`), or `priorities` is empty, has duplicates or names that are
   *   not visible ASCII.
   */
  constructor(options: LoadShedderOptions = {}) {
    const cfg = resolveShedOptions(options);
    this.#maxConnections = cfg.maxConnections;
    this.#maxInFlight = cfg.maxInFlight;
    this.#maxQueueMs = cfg.maxQueueMs;
    this.#maxQueueLength = cfg.maxQueueLength;
    this.#criticalLimit = cfg.criticalLimit;
    this.#reserve = cfg.criticalReserve;
    this.#retryAfter = cfg.retryAfterSeconds;
    const classes = cfg.classes;
    this.#classes = classes;
    this.#queues = classes.map(() => new FifoQueue());
    this.#admitted = new Float64Array(classes.length);
    this.#shedBeforeHandshake = cfg.shedBeforeHandshake;
    this.#metrics = options.metrics;
    this.#now = options.now ?? (() => performance.now());
    if (cfg.adaptive !== undefined) {
      this.#codel = new AdaptiveController(
        cfg.adaptive.targetMs,
        cfg.adaptive.intervalMs,
        classes.length,
      );
    }
    const bounds = cfg.adaptiveLimit;
    if (bounds !== undefined) {
      this.#limiter = new ConcurrencyLimit(
        bounds.initialLimit,
        bounds.minLimit,
        bounds.maxLimit,
      );
    }
    this.#track = Number.isFinite(this.#maxInFlight);
    if (this.#track) this.#metrics?.concurrencyLimitChanged(this.#maxInFlight);
    this.#releaseFn = (s, admittedAt) => {
      if (!Number.isNaN(admittedAt)) {
        const now = s.#now();
        const hold = now - admittedAt;
        s.#predictor.recordHold(hold);
        if (s.#track) s.#predictor.forget(admittedAt);
        const limiter = s.#limiter;
        if (limiter?.sample(hold, admittedAt, now, s.#inFlight)) {
          s.#setLimit(limiter.limit);
        }
      }
      s.#releaseSlot();
    };
  }

  /** Whether the engine should close a shed connection before its handshake. */
  get shedBeforeHandshake(): boolean {
    return this.#shedBeforeHandshake;
  }

  /** The priority classes, highest first. */
  get priorities(): readonly string[] {
    return this.#classes;
  }

  /**
   * The `Retry-After` to send now, in seconds: the configured minimum, or
   * more while the queueing delay is longer than that.
   */
  get retryAfterSeconds(): number {
    const delay = this.#codel?.lastDelayMs ?? 0;
    return Math.max(this.#retryAfter, Math.ceil(delay / 1000));
  }

  /**
   * Admits a connection unless `maxConnections` are open; a refusal is
   * counted (and reported to `metrics.connectionShed()`).
   *
   * @returns `true` if admitted: call `releaseConnection()` when it closes.
   */
  tryAdmitConnection(): boolean {
    if (this.#connections < this.#maxConnections) {
      this.#connections++;
      return true;
    }
    this.#shed.max_connections++;
    this.#metrics?.connectionShed();
    return false;
  }

  /** Frees a connection admitted by `tryAdmitConnection()`. */
  releaseConnection(): void {
    if (this.#connections > 0) this.#connections--;
  }

  /**
   * Asks for a request slot. Below the limit it answers synchronously with
   * an {@linkcode Admission}; a request that cannot wait (full queue, its
   * class shed, or a predicted wait above `maxQueueMs`, or above the
   * adaptive mode's bound) gets a {@linkcode ShedDecision} synchronously;
   * otherwise a promise resolves with one or the other, the highest waiting
   * class first, within that bound.
   *
   * @param priority One of `priorities`.
   * @param options An abort signal for the wait.
   * @returns The decision, or a promise of it.
   * @throws {RangeError} If `priority` is not a configured class.
   */
  admit(
    priority: string,
    options?: AdmitOptions,
  ): Admission | ShedDecision | Promise<Admission | ShedDecision> {
    const cls = this.#classIndex(priority);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const codel = this.#codel;
    let now = codel !== undefined ? this.#now() : NaN;
    if (codel !== undefined) {
      codel.observeDelay(standingDelay(this.#queues, now));
      codel.arrival(cls, now);
      if (cls > 0 && cls >= this.#classes.length - codel.level) {
        return this.#shedRequest(cls, "adaptive");
      }
    }
    if (
      this.#inFlight < (cls === 0 ? this.#criticalLimit : this.#maxInFlight)
    ) {
      // Admission times feed the wait prediction, which matters only near
      // saturation: spare the clock read (~100 ns) below half the limit.
      if (
        Number.isNaN(now) && this.#track &&
        2 * this.#inFlight + 2 >= this.#maxInFlight
      ) now = this.#now();
      return this.#grant(cls, 0, now);
    }
    if (Number.isNaN(now)) now = this.#now();
    const bound = this.#waitLimit(cls, now);
    if (bound === 0 || this.#predictedWait(cls, now) > bound) {
      return this.#refuse(cls, now, false);
    }
    if (this.#queued >= this.#maxQueueLength) {
      const w = popLowerThan(this.#queues, cls);
      if (w === undefined) return this.#refuse(cls, now, true);
      codel?.refused(w.cls, now);
      this.#settle(w, this.#shedRequest(w.cls, "priority"));
    }
    return this.#enqueue(cls, now, bound, signal);
  }

  /**
   * Current counters and state.
   *
   * @returns A plain copy.
   */
  stats(): LoadShedderStats {
    const queuedByClass: Record<string, number> = {};
    const admittedByClass: Record<string, number> = {};
    const level = this.#codel?.level ?? 0;
    this.#classes.forEach((c, i) => {
      queuedByClass[c] = this.#queues[i]!.live;
      admittedByClass[c] = this.#admitted[i]!;
    });
    return {
      openConnections: this.#connections,
      inFlight: this.#inFlight,
      queued: this.#queued,
      queuedByClass,
      admitted: this.#admitted.reduce((a, b) => a + b, 0),
      admittedByClass,
      shed: { ...this.#shed },
      adaptiveShedding: this.#classes.slice(this.#classes.length - level)
        .reverse(),
      concurrencyLimit: this.#maxInFlight,
    };
  }

  /** Sheds every waiting request (reason `queue_full`) and stops the timer. */
  [Symbol.dispose](): void {
    for (const q of this.#queues) {
      for (let w = q.shift(); w !== undefined; w = q.shift()) {
        this.#settle(w, this.#shedRequest(w.cls, "queue_full"));
      }
    }
    this.#clearTimer();
  }

  #classIndex(priority: string): number {
    const classes = this.#classes;
    for (let i = 0; i < classes.length; i++) {
      if (classes[i] === priority) return i;
    }
    throw new RangeError(`Unknown priority class: "${priority}"`);
  }

  #grant(cls: number, queuedMs: number, now: number): Admission {
    this.#inFlight++;
    this.#admitted[cls]!++;
    if (this.#track && !Number.isNaN(now)) this.#predictor.admitted(now);
    return new Slot(this, this.#classes[cls]!, queuedMs, now, this.#releaseFn);
  }

  #waitLimit(cls: number, now: number): number {
    const codel = this.#codel;
    return codel === undefined
      ? this.#maxQueueMs
      : codel.waitLimit(cls, now, this.#maxQueueMs);
  }

  /** Sheds a request the wait bound or a full queue refuses. */
  #refuse(cls: number, now: number, full: boolean): ShedDecision {
    const codel = this.#codel;
    if (codel === undefined) {
      return this.#shedRequest(cls, full ? "queue_full" : "queue_timeout");
    }
    const was = codel.overloaded(now);
    codel.refused(cls, now);
    // Overload shortens the bound of the requests already waiting.
    if (!was && this.#queued > 0) this.#rearm(now);
    return this.#shedRequest(
      cls,
      full ? "queue_full" : was && cls > 0 ? "adaptive" : "queue_timeout",
    );
  }

  #shedRequest(
    cls: number,
    reason: Exclude<ShedReason, "max_connections">,
  ): ShedDecision {
    this.#shed[reason]++;
    this.#metrics?.requestShed(reason);
    return {
      admitted: false,
      reason,
      priority: this.#classes[cls]!,
      retryAfterSeconds: this.retryAfterSeconds,
    };
  }

  /** When a request of class `cls` queued now would get a slot. */
  #predictedWait(cls: number, now: number): number {
    const cap = cls === 0 ? this.#criticalLimit : this.#maxInFlight;
    const ahead = waitingAhead(this.#queues, cls);
    return this.#predictor.wait(this.#inFlight, cap, ahead, now);
  }

  #enqueue(
    cls: number,
    now: number,
    bound: number,
    signal: AbortSignal | undefined,
  ): Promise<Admission | ShedDecision> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        cls,
        arrival: now,
        done: false,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        w.onAbort = () => {
          if (w.done) return;
          this.#queues[w.cls]!.live--;
          this.#settle(w, undefined);
          reject(signal.reason);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      if (this.#queued === 0) this.#codel?.queueChanged(false, now);
      this.#queues[cls]!.push(w);
      this.#queued++;
      this.#metrics?.requestQueued();
      // Classes have their own bounds: a newcomer may expire first.
      if (this.#timer === undefined || now + bound < this.#timerAt) {
        this.#rearm(now);
      }
    });
  }

  /** Marks a waiter finished, resolving it when given a decision. */
  #settle(w: Waiter, decision: Admission | ShedDecision | undefined): void {
    w.done = true;
    this.#queued--;
    this.#metrics?.requestDequeued();
    if (w.onAbort !== undefined) {
      w.signal!.removeEventListener("abort", w.onAbort);
    }
    if (decision !== undefined) w.resolve(decision);
    if (this.#queued === 0) {
      this.#clearTimer();
      this.#codel?.queueChanged(true, NaN);
    }
  }

  /** Applies a new adaptive limit; a larger one admits waiters next. */
  #setLimit(limit: number): void {
    this.#maxInFlight = limit;
    const reserve = Number.isNaN(this.#reserve)
      ? Math.max(1, Math.ceil(limit / 10))
      : this.#reserve;
    this.#criticalLimit = limit + reserve;
    this.#metrics?.concurrencyLimitChanged(limit);
  }

  #releaseSlot(): void {
    this.#inFlight--;
    this.#dispatch();
  }

  #dispatch(): void {
    const codel = this.#codel;
    while (this.#queued > 0) {
      let cls = 0;
      while (this.#queues[cls]!.live === 0) cls++;
      const cap = cls === 0 ? this.#criticalLimit : this.#maxInFlight;
      if (this.#inFlight >= cap) return;
      const w = this.#queues[cls]!.shift()!;
      const now = this.#now();
      const waited = now - w.arrival;
      if (codel !== undefined) {
        codel.observeDelay(waited);
        // CoDel drops at dequeue: a class shed meanwhile does not get in.
        if (cls > 0 && cls >= this.#classes.length - codel.level) {
          this.#settle(w, this.#shedRequest(cls, "adaptive"));
          continue;
        }
      }
      this.#settle(w, this.#grant(cls, waited, now));
    }
  }

  /** One timer for the earliest expiry or change of the wait bound. */
  #rearm(now: number): void {
    this.#clearTimer();
    let next = this.#codel?.nextChange() ?? Infinity;
    this.#queues.forEach((q, cls) => {
      const w = q.live > 0 ? q.peek() : undefined;
      if (w !== undefined) {
        next = Math.min(next, w.arrival + this.#waitLimit(cls, now));
      }
    });
    if (!Number.isFinite(next)) return;
    this.#timerAt = next;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, next - now));
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#now();
    this.#queues.forEach((q, cls) => {
      for (let w = q.peek(); w !== undefined; w = q.peek()) {
        if (now - w.arrival < this.#waitLimit(cls, now)) break;
        q.shift();
        this.#settle(w, this.#refuse(w.cls, now, false));
      }
    });
    if (this.#queued > 0 && this.#timer === undefined) this.#rearm(now);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
  }
}
