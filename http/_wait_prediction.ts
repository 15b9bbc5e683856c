// The load shedder's wait prediction: a request is let in to wait only if
// its place in line is predicted to get a slot within its bound, so a
// refused request is nearly always refused at once, not after waiting.

/**
 * The admission times of the slots held and an estimate of how long a slot
 * is held (mean and mean deviation, smoothed as TCP's RTO, RFC 6298).
 */
export class WaitPredictor {
  /**
   * Admission times of the slots held that were timed, oldest first (with a
   * finite maxInFlight; slots taken below half of it are not timed).
   */
  #admitTimes: number[] = [];
  #holdEwmaMs = 0;
  #holdDevMs = 0;
  #holdSamples = 0;

  /** A timed slot was taken at `t`. */
  admitted(t: number): void {
    // The clock only moves forward: pushing keeps the times sorted.
    this.#admitTimes.push(t);
  }

  /** Drops one admission time `t` of a released slot. */
  forget(t: number): void {
    const times = this.#admitTimes;
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

  /** Records how long a slot was held. */
  recordHold(ms: number): void {
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

  /**
   * When a request with `ahead` waiters at or above its class in front of
   * it would get one of `cap` slots, `inFlight` of them held: the
   * slots held end oldest first, each after a hold time, and a slot freed is
   * held again as long. Not the mean wait but the wait of the request's
   * place in line, with a hold time of mean + 2 deviations, so one let in to
   * wait rarely waits past its bound only to be refused. A slot taken
   * without a time counts as just taken.
   */
  wait(inFlight: number, cap: number, ahead: number, now: number): number {
    const times = this.#admitTimes;
    const n = inFlight;
    if (this.#holdSamples === 0 || n === 0) return 0;
    // The release (0-based, oldest slot first) that admits this request.
    const j = n - cap + ahead;
    if (j < 0) return 0;
    const hold = this.#holdEwmaMs + 2 * this.#holdDevMs;
    const i = j % n;
    const first = i < times.length ? Math.max(0, times[i]! + hold - now) : hold;
    return first + Math.floor(j / n) * hold;
  }
}
