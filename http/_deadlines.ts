// One moving deadline per connection, checked by a single timer per server.
// Moving a deadline is a field assignment, so the hot path sets no timer.

/** Something with a deadline the wheel watches. */
export interface Expirable {
  /** Milliseconds since the epoch; Infinity when no deadline runs. */
  deadline: number;
  /** Called once the deadline has passed. */
  expire(): void;
}

/** Checks every watched deadline each `tickMs`; runs only while watching. */
export class DeadlineWheel {
  /**
   * The time of the last tick: deadlines are set from it, which is exact to
   * one tick, like their checking, and saves a clock read per request.
   */
  now: number = Date.now();
  #items = new Set<Expirable>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #tickMs: number;

  constructor(tickMs: number) {
    this.#tickMs = tickMs;
  }

  add(item: Expirable): void {
    this.now = Date.now();
    this.#items.add(item);
    if (this.#timer === undefined) {
      const timer = setInterval(() => this.#check(), this.#tickMs);
      // A process that only waits on idle connections may exit.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  delete(item: Expirable): void {
    this.#items.delete(item);
    if (this.#items.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #check(): void {
    const now = this.now = Date.now();
    for (const item of this.#items) {
      if (item.deadline <= now) {
        item.deadline = Infinity;
        item.expire();
      }
    }
  }
}
