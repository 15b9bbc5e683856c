import type { LatencyHistogramSnapshot } from "./metrics_snapshot.ts";

/** Default latency bucket upper bounds in milliseconds (Prometheus `le`). */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
]);

/**
 * A fixed-bucket histogram: `record()` is a binary search over the bounds and
 * one typed-array increment, so the hot path never allocates.
 */
export class Histogram {
  #bounds: Float64Array;
  // Non-cumulative; the last slot holds values above the largest bound.
  #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(boundsMs: readonly number[] = DEFAULT_LATENCY_BUCKETS_MS) {
    if (boundsMs.length === 0) {
      throw new RangeError("Histogram bounds must not be empty");
    }
    for (let i = 0; i < boundsMs.length; i++) {
      const b = boundsMs[i]!;
      if (!Number.isFinite(b) || (i > 0 && b <= boundsMs[i - 1]!)) {
        throw new RangeError(
          `Histogram bounds must be finite and strictly increasing: ${b} at index ${i}`,
        );
      }
    }
    this.#bounds = Float64Array.from(boundsMs);
    this.#counts = new Float64Array(boundsMs.length + 1);
  }

  /** Records one observation (negative or NaN values count as 0). */
  record(value: number): void {
    if (!(value > 0)) value = 0;
    const bounds = this.#bounds;
    // First bound >= value: Prometheus buckets are "less than or equal".
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    this.#counts[lo]!++;
    this.#sum += value;
    this.#count++;
  }

  /** A plain copy with cumulative counts, ready for Prometheus rendering. */
  snapshot(): LatencyHistogramSnapshot {
    const boundsMs = Array.from(this.#bounds);
    const counts: number[] = new Array(this.#counts.length);
    let acc = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      acc += this.#counts[i]!;
      counts[i] = acc;
    }
    return { boundsMs, counts, sumMs: this.#sum, count: this.#count };
  }
}
