/**
 * The adaptive mode of the load shedder: the "adaptive CoDel" queue rule of
 * Facebook's "Fail at Scale" (ACM Queue, 2015), after CoDel (RFC 8289), plus
 * a shed level over priority classes.
 *
 * Queue rule. While the queue has drained within the last `intervalMs`, a
 * request may wait up to `intervalMs` (a burst is absorbed). Once it has
 * stayed non-empty for a whole `intervalMs`, or a request had to be refused
 * because the wait would pass the bound, the server is overloaded: a request
 * (the critical class excepted) may then wait at most `targetMs`, so shed
 * requests are refused within about `targetMs` and admitted ones wait no
 * longer. Overload ends after `intervalMs` without such a refusal.
 *
 * Shed level. While overloaded, if a class was refused by the queue rule
 * while a lower class was still admitted, the lowest class that had traffic
 * is shed outright; further steps follow CoDel's control law
 * `intervalMs / sqrt(count)`. A class without traffic is skipped, so no step
 * is wasted on it. After `intervalMs` without any refusal of a served class
 * the highest shed class (with traffic) is served again. The critical class
 * is never shed by level.
 */
export class AdaptiveController {
  #targetMs: number;
  #intervalMs: number;
  #classes: number;
  #overloaded = false;
  // NaN while the queue is empty (0 is a valid fake-clock time).
  #nonEmptySince = NaN;
  #lastRefusal = -Infinity;
  #level = 0;
  #count = 0;
  #nextStep = -Infinity;
  #arrivals: Float64Array;
  #refusals: Float64Array;
  #lastDelay = 0;

  constructor(targetMs: number, intervalMs: number, classes: number) {
    this.#targetMs = targetMs;
    this.#intervalMs = intervalMs;
    this.#classes = classes;
    this.#arrivals = new Float64Array(classes);
    this.#refusals = new Float64Array(classes);
  }

  /** How many of the lowest classes are shed outright now. */
  get level(): number {
    return this.#level;
  }

  /** The last queueing delay observed, in milliseconds. */
  get lastDelayMs(): number {
    return this.#lastDelay;
  }

  /** Records a queueing delay, for `Retry-After`. */
  observeDelay(delayMs: number): void {
    this.#lastDelay = delayMs;
  }

  /** Whether the server counts as overloaded at `now`. */
  overloaded(now: number): boolean {
    if (this.#overloaded && now - this.#lastRefusal >= this.#intervalMs) {
      this.#overloaded = false;
    }
    if (
      !this.#overloaded && now - this.#nonEmptySince >= this.#intervalMs
    ) {
      this.#overloaded = true;
      this.#lastRefusal = now;
    }
    return this.#overloaded;
  }

  /** The longest a request of class `cls` may wait at `now`. */
  waitLimit(cls: number, now: number, maxQueueMs: number): number {
    const long = Math.min(this.#intervalMs, maxQueueMs);
    if (cls === 0 || !this.overloaded(now)) return long;
    return Math.min(this.#targetMs, long);
  }

  /**
   * When the wait limit next shrinks (the queue will have stood for a whole
   * interval), or Infinity.
   */
  nextChange(): number {
    if (this.#overloaded || Number.isNaN(this.#nonEmptySince)) return Infinity;
    return this.#nonEmptySince + this.#intervalMs;
  }

  /** The queue went from empty to non-empty, or back. */
  queueChanged(empty: boolean, now: number): void {
    if (empty) this.#nonEmptySince = NaN;
    else if (Number.isNaN(this.#nonEmptySince)) this.#nonEmptySince = now;
  }

  /** A request of class `cls` arrived; runs a control step when due. */
  arrival(cls: number, now: number): void {
    this.#arrivals[cls]!++;
    if (now >= this.#nextStep) this.#step(now);
  }

  /** A request of a served class was refused by the queue rule. */
  refused(cls: number, now: number): void {
    this.#refusals[cls]!++;
    this.#lastRefusal = now;
    this.#overloaded = true;
  }

  #step(now: number): void {
    const n = this.#classes;
    const arrivals = this.#arrivals;
    const refusals = this.#refusals;
    let raised = false;
    if (this.overloaded(now)) {
      for (let c = n - 1 - this.#level; c >= 1; c--) {
        if (arrivals[c] === 0) continue;
        let above = 0;
        for (let i = 0; i < c; i++) above += refusals[i]!;
        if (above > 0) {
          this.#level = n - c;
          this.#count++;
          raised = true;
        }
        break;
      }
    }
    if (!raised && this.#level > 0 && !this.#overloaded) {
      let served = 0;
      for (let i = 0; i < n - this.#level; i++) served += refusals[i]!;
      if (served === 0) {
        // Serve again the highest shed class, and with it the ones below
        // that had no traffic (a step each would be wasted).
        this.#level--;
        while (this.#level > 0 && arrivals[n - this.#level] === 0) {
          this.#level--;
        }
        if (this.#level === 0) this.#count = 0;
      }
    }
    this.#nextStep = now +
      (raised ? this.#intervalMs / Math.sqrt(this.#count) : this.#intervalMs);
    arrivals.fill(0);
    refusals.fill(0);
  }
}
