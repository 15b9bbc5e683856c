import { AdaptiveController } from "./_codel.ts";
import type { ServerMetrics, ShedCounts, ShedReason } from "./metrics.ts";

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
   * Requests handled at once; more wait in a queue.
   *
   * @default {Infinity}
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
   * @default {Math.max(1, Math.ceil(maxInFlight / 10)) (0 when maxInFlight is Infinity)}
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
}

interface Waiter {
  cls: number;
  arrival: number;
  done: boolean;
  resolve: (v: Admission | ShedDecision) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

class FifoQueue {
  items: (Waiter | undefined)[] = [];
  head = 0;
  live = 0;
  push(w: Waiter): void {
    this.items.push(w);
    this.live++;
  }
  /** Oldest live waiter, skipping abandoned ones. */
  peek(): Waiter | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const w = items[this.head]!;
      if (!w.done) return w;
      items[this.head++] = undefined;
    }
    this.items = [];
    this.head = 0;
    return undefined;
  }
  shift(): Waiter | undefined {
    const w = this.peek();
    if (w !== undefined) {
      this.items[this.head++] = undefined;
      this.live--;
    }
    return w;
  }
  /** Newest live waiter, removed. */
  pop(): Waiter | undefined {
    const items = this.items;
    while (items.length > this.head) {
      const w = items.pop()!;
      if (!w.done) {
        this.live--;
        return w;
      }
    }
    return undefined;
  }
}

type ReleaseFn = (s: LoadShedder, admittedAt: number) => void;

class Slot implements Admission {
  readonly admitted = true as const;
  readonly priority: string;
  readonly queuedMs: number;
  #owner: LoadShedder | undefined;
  #release: ReleaseFn;
  #admittedAt: number;
  constructor(
    owner: LoadShedder,
    priority: string,
    queuedMs: number,
    admittedAt: number,
    release: ReleaseFn,
  ) {
    this.#owner = owner;
    this.priority = priority;
    this.queuedMs = queuedMs;
    this.#admittedAt = admittedAt;
    this.#release = release;
  }
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    this.#release(owner, this.#admittedAt);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

const RFC_CLASS = /^[\x21-\x7e]+$/;

/**
 * Admission control for connections and requests: connection and in-flight
 * limits, a bounded wait by priority class, and an optional adaptive mode
 * that shortens the wait to a target while the queue stands and sheds whole
 * low classes under overload. A request is let in to wait only if its place
 * in line is predicted to get a slot within its bound, so a refused request
 * is nearly always refused at once. Every shed is counted by reason.
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
  /**
   * Admission times of the slots held that were timed, oldest first (with a
   * finite maxInFlight; slots taken below half of it are not timed).
   */
  #admitTimes: number[] = [];
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
  #holdEwmaMs = 0;
  #holdDevMs = 0;
  #holdSamples = 0;
  #releaseFn: ReleaseFn;

  /**
   * Creates a controller; it holds no resource until a request waits.
   *
   * @param options Limits, classes and mode.
   * @throws {RangeError} If a limit is negative or NaN, or `priorities` is
   *   empty, has duplicates or names that are not visible ASCII.
   */
  constructor(options: LoadShedderOptions = {}) {
    this.#maxConnections = limit("maxConnections", options.maxConnections);
    this.#maxInFlight = limit("maxInFlight", options.maxInFlight);
    this.#maxQueueMs = limit("maxQueueMs", options.maxQueueMs ?? 1000);
    this.#maxQueueLength = limit(
      "maxQueueLength",
      options.maxQueueLength ?? 1024,
    );
    const reserve = options.criticalReserve ??
      (Number.isFinite(this.#maxInFlight)
        ? Math.max(1, Math.ceil(this.#maxInFlight / 10))
        : 0);
    this.#criticalLimit = this.#maxInFlight + limit("criticalReserve", reserve);
    this.#retryAfter = limit(
      "retryAfterSeconds",
      options.retryAfterSeconds ?? 1,
    );
    const classes = options.priorities ?? ["critical", "normal", "low"];
    if (classes.length === 0) {
      throw new RangeError("Priorities must name at least one class: []");
    }
    for (const [i, c] of classes.entries()) {
      if (!RFC_CLASS.test(c) || classes.indexOf(c) !== i) {
        throw new RangeError(`Invalid or duplicate priority class: "${c}"`);
      }
    }
    this.#classes = [...classes];
    this.#queues = classes.map(() => new FifoQueue());
    this.#admitted = new Float64Array(classes.length);
    this.#shedBeforeHandshake = options.shedBeforeHandshake ?? true;
    this.#metrics = options.metrics;
    this.#now = options.now ?? (() => performance.now());
    const adaptive = options.adaptive ?? false;
    if (adaptive !== false) {
      const a = adaptive === true ? {} : adaptive;
      this.#codel = new AdaptiveController(
        limit("adaptive.targetMs", a.targetMs ?? 5),
        limit("adaptive.intervalMs", a.intervalMs ?? 100),
        classes.length,
      );
    }
    this.#track = Number.isFinite(this.#maxInFlight);
    this.#releaseFn = (s, admittedAt) => {
      if (!Number.isNaN(admittedAt)) {
        s.#recordHold(s.#now() - admittedAt);
        s.#forget(admittedAt);
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
      codel.observeDelay(this.#standingDelay(now));
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
      let victim = this.#classes.length - 1;
      while (victim > cls && this.#queues[victim]!.live === 0) victim--;
      const w = victim > cls ? this.#queues[victim]!.pop() : undefined;
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
    // The clock only moves forward: pushing keeps the times sorted.
    if (this.#track && !Number.isNaN(now)) this.#admitTimes.push(now);
    return new Slot(this, this.#classes[cls]!, queuedMs, now, this.#releaseFn);
  }

  /** Drops one admission time `t` of a released slot. */
  #forget(t: number): void {
    const times = this.#admitTimes;
    if (!this.#track) return;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    // An injected clock that went backwards leaves the array unsorted.
    if (times[lo] !== t) lo = times.indexOf(t);
    if (lo >= 0) times.splice(lo, 1);
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

  /**
   * When a request of class `cls` queued now would get a slot: the slots
   * held end oldest first, each after a hold time, and a slot freed is held
   * again as long. Not the mean wait but the wait of the request's place in
   * line, with a hold time of mean + 2 deviations (as TCP's RTO, RFC 6298),
   * so one let in to wait rarely waits past its bound only to be refused.
   * A slot taken without a time counts as just taken.
   */
  #predictedWait(cls: number, now: number): number {
    const times = this.#admitTimes;
    const n = this.#inFlight;
    if (this.#holdSamples === 0 || n === 0) return 0;
    const cap = cls === 0 ? this.#criticalLimit : this.#maxInFlight;
    let ahead = 0;
    for (let i = 0; i <= cls; i++) ahead += this.#queues[i]!.live;
    // The release (0-based, oldest slot first) that admits this request.
    const j = n - cap + ahead;
    if (j < 0) return 0;
    const hold = this.#holdEwmaMs + 2 * this.#holdDevMs;
    const i = j % n;
    const first = i < times.length ? Math.max(0, times[i]! + hold - now) : hold;
    return first + Math.floor(j / n) * hold;
  }

  #standingDelay(now: number): number {
    let oldest = Infinity;
    for (const q of this.#queues) {
      const w = q.live > 0 ? q.peek() : undefined;
      if (w !== undefined && w.arrival < oldest) oldest = w.arrival;
    }
    return oldest === Infinity ? 0 : now - oldest;
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

  #releaseSlot(): void {
    this.#inFlight--;
    this.#dispatch();
  }

  /** Records how long a slot was held, for the wait prediction. */
  #recordHold(ms: number): void {
    this.#holdSamples++;
    if (this.#holdSamples === 1) {
      this.#holdEwmaMs = ms;
      this.#holdDevMs = 0;
    } else {
      this.#holdDevMs = this.#holdDevMs * 0.75 +
        Math.abs(ms - this.#holdEwmaMs) * 0.25;
      this.#holdEwmaMs = this.#holdEwmaMs * 0.8 + ms * 0.2;
    }
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

function limit(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Option ${name} must be a non-negative number: ${value}`,
    );
  }
  return value;
}

/** Options for {@linkcode serviceUnavailableResponse}. */
export interface ServiceUnavailableOptions {
  /**
   * A short plain-text body; the empty default sends `Content-Length: 0`.
   *
   * @default {""}
   */
  body?: string;
  /**
   * Leaves out `Connection: close`, so an HTTP/1.1 client may send its next
   * request on the same connection: a refused request then costs the client
   * no new TLS handshake.
   *
   * @default {false}
   */
  keepAlive?: boolean;
}

let cachedKey = "";
let cachedBytes = new Uint8Array();
const encoder = new TextEncoder();

/**
 * The complete bytes of a minimal `503 Service Unavailable` response with
 * `Date`, `Content-Length`, `Retry-After` and `Connection: close` (unless
 * `keepAlive`), for the
 * engine to write in one write (one TLS record, no Nagle stall) without
 * building a `Response`. The result is cached per second and must not be
 * modified.
 *
 * @example Shed a request
 * ```ts
 * import { serviceUnavailableResponse } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const text = new TextDecoder().decode(serviceUnavailableResponse(2));
 * assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
 * assert.match(text, /\r\nRetry-After: 2\r\n/);
 * ```
 *
 * @param retryAfterSeconds The `Retry-After` value, e.g.
 *   {@linkcode LoadShedder.retryAfterSeconds}.
 * @param options An optional body.
 * @returns The response bytes (head and body).
 * @throws {RangeError} If `retryAfterSeconds` is not a non-negative integer.
 */
export function serviceUnavailableResponse(
  retryAfterSeconds: number,
  options: ServiceUnavailableOptions = {},
): Uint8Array {
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new RangeError(
      `Retry-After must be a non-negative integer: ${retryAfterSeconds}`,
    );
  }
  const body = options.body ?? "";
  const second = Math.floor(Date.now() / 1000);
  const keepAlive = options.keepAlive ?? false;
  const key = `${second} ${retryAfterSeconds} ${keepAlive} ${body}`;
  if (key === cachedKey) return cachedBytes;
  const bodyBytes = encoder.encode(body);
  const head = "HTTP/1.1 503 Service Unavailable\r\n" +
    `Date: ${new Date(second * 1000).toUTCString()}\r\n` +
    (body === "" ? "" : "Content-Type: text/plain; charset=utf-8\r\n") +
    `Content-Length: ${bodyBytes.length}\r\n` +
    `Retry-After: ${retryAfterSeconds}\r\n` +
    (keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
  const headBytes = encoder.encode(head);
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  cachedKey = key;
  cachedBytes = out;
  return out;
}
