// The adaptive concurrency limit of the load shedder, used in adaptive mode
// when no maxInFlight is set: a gradient limiter after Netflix's
// concurrency-limits "Gradient2" and TCP Vegas, driven by slot hold times.

/** Fewest hold times in a window (more: the current limit). */
const MIN_SAMPLES = 10;
/**
 * Share of the step taken when the limit shrinks (all of it, as Vegas: a
 * queue is building), and when it grows (smoothed against noise).
 */
const SHRINK = 1;
const GROW = 0.25;
/** Windows after which the no-load estimate is measured again (a probe). */
const EPOCH_WINDOWS = 50;

/**
 * The concurrency a backend serves without queueing, learned from how long
 * slots are held. Each window (at least `MIN_SAMPLES` releases and at least
 * as many as the limit, so about one round of the slots) yields a mean hold
 * time; the lowest window mean of the epoch is the no-load hold time. Then
 * `gradient = clamp(noLoad / mean, 0.5, 1)` and the limit moves toward
 * `limit * gradient + sqrt(limit)`: a backend that queues internally holds
 * slots longer as more are in use, so the limit settles a square root above
 * what it serves at once, and grows again while hold times stay flat. The
 * limit does not grow while less than half of it is used.
 *
 * The no-load estimate is only a minimum of what was seen, and under
 * sustained overload every window is loaded: so every `EPOCH_WINDOWS`
 * windows one probe window runs at half the limit (as BBR's ProbeRTT) and
 * its mean, from slots taken during the probe only, starts the new epoch.
 */
export class ConcurrencyLimit {
  #min: number;
  #max: number;
  #limit: number;
  /** The limit admission uses: an integer, halved during a probe. */
  #current: number;
  #noLoadMs = NaN;
  #windows = 0;
  #sum = 0;
  #count = 0;
  #peak = 0;
  #probeStart = NaN;

  constructor(initial: number, min: number, max: number) {
    this.#min = min;
    this.#max = max;
    this.#limit = Math.min(max, Math.max(min, initial));
    this.#current = Math.floor(this.#limit);
  }

  /** Requests that may hold a slot now. */
  get limit(): number {
    return this.#current;
  }

  /**
   * Records a slot held `holdMs` (admitted at `admittedAt`, released at
   * `now`) while `inFlight` slots were held, this one included.
   *
   * @returns Whether the limit changed.
   */
  sample(
    holdMs: number,
    admittedAt: number,
    now: number,
    inFlight: number,
  ): boolean {
    // A probe measures only slots taken under the probe's limit.
    if (admittedAt < this.#probeStart || !(holdMs >= 0)) return false;
    this.#sum += holdMs;
    this.#count++;
    if (inFlight > this.#peak) this.#peak = inFlight;
    if (this.#count < MIN_SAMPLES || this.#count < this.#current) return false;
    const before = this.#current;
    this.#update(this.#sum / this.#count, now);
    this.#sum = 0;
    this.#count = 0;
    this.#peak = 0;
    return this.#current !== before;
  }

  #update(meanMs: number, now: number): void {
    if (!Number.isNaN(this.#probeStart)) {
      this.#probeStart = NaN;
      this.#noLoadMs = meanMs;
      this.#windows = 0;
    } else if (!(meanMs >= this.#noLoadMs)) this.#noLoadMs = meanMs;
    const limit = this.#limit;
    // A limit that is not used says nothing about what the backend serves.
    if (2 * this.#peak >= limit) {
      const ratio = meanMs > 0 ? this.#noLoadMs / meanMs : 1;
      const gradient = Math.min(1, Math.max(0.5, ratio));
      const target = limit * gradient + Math.sqrt(limit);
      const next = limit + (target - limit) * (target < limit ? SHRINK : GROW);
      this.#limit = Math.min(this.#max, Math.max(this.#min, next));
    }
    this.#current = Math.floor(this.#limit);
    if (++this.#windows >= EPOCH_WINDOWS) {
      this.#probeStart = now;
      this.#current = Math.max(this.#min, Math.floor(this.#limit / 2));
    }
  }
}
