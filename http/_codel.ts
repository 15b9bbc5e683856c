/**
 * A CoDel-style controller (RFC 8289) adapted to priority classes: instead of
 * dropping single packets it raises a shed level, the number of lowest
 * classes refused at admission.
 *
 * It engages once the observed queueing delay has stayed above `targetMs`
 * for a whole `intervalMs` (so the minimum over the interval is above
 * target), sheds one more class at each step spaced by CoDel's control law
 * `intervalMs / sqrt(count)`, and disengages as soon as a delay below target
 * is observed.
 */
export class CoDelController {
  #targetMs: number;
  #intervalMs: number;
  #maxLevel: number;
  // NaN = delay is not above target (0 is a valid fake-clock time).
  #firstAboveTime = NaN;
  #level = 0;
  #count = 0;
  #nextStep = 0;
  #lastDelay = 0;

  constructor(targetMs: number, intervalMs: number, maxLevel: number) {
    this.#targetMs = targetMs;
    this.#intervalMs = intervalMs;
    this.#maxLevel = maxLevel;
  }

  /** How many of the lowest classes are being shed now. */
  get level(): number {
    return this.#level;
  }

  /** The last delay observed, in milliseconds. */
  get lastDelayMs(): number {
    return this.#lastDelay;
  }

  /** Feeds one queueing delay measured at time `now`. */
  observe(delayMs: number, now: number): void {
    this.#lastDelay = delayMs;
    if (delayMs < this.#targetMs) {
      this.#firstAboveTime = NaN;
      this.#level = 0;
      return;
    }
    if (this.#level > 0) {
      if (now >= this.#nextStep && this.#level < this.#maxLevel) {
        this.#level++;
        this.#count++;
        this.#nextStep = now + this.#intervalMs / Math.sqrt(this.#count);
      }
      return;
    }
    if (Number.isNaN(this.#firstAboveTime)) {
      this.#firstAboveTime = now + this.#intervalMs;
    } else if (now >= this.#firstAboveTime && this.#maxLevel > 0) {
      this.#level = 1;
      this.#count = 1;
      this.#nextStep = now + this.#intervalMs;
    }
  }
}
