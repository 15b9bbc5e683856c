// Sums of metrics snapshots, for ServerMetrics.merge().

import type { ServerMetricsSnapshot } from "./metrics_snapshot.ts";

/**
 * Adds every counter, gauge and histogram bucket of `s` into `out`.
 *
 * @throws {RangeError} If the latency buckets differ.
 */
export function addInto(
  out: ServerMetricsSnapshot,
  s: ServerMetricsSnapshot,
): void {
  const oc = out.connections;
  oc.open += s.connections.open;
  oc.accepted += s.connections.accepted;
  oc.shed += s.connections.shed;
  addFields(oc.shedByReason, s.connections.shedByReason);
  const or = out.requests;
  or.total += s.requests.total;
  or.inFlight += s.requests.inFlight;
  or.queued += s.requests.queued;
  or.shed += s.requests.shed;
  addFields(or.byStatusClass, s.requests.byStatusClass);
  addFields(out.timeouts, s.timeouts);
  out.handshakeFailures += s.handshakeFailures;
  out.parseErrors += s.parseErrors;
  out.bytesIn += s.bytesIn;
  out.bytesOut += s.bytesOut;
  const a = out.latency;
  const b = s.latency;
  if (
    a.boundsMs.length !== b.boundsMs.length ||
    a.boundsMs.some((v, i) => v !== b.boundsMs[i])
  ) {
    throw new RangeError(
      `Cannot merge latency histograms with different buckets: ${
        b.boundsMs.join(",")
      }`,
    );
  }
  for (let i = 0; i < a.counts.length; i++) a.counts[i]! += b.counts[i]!;
  a.sumMs += b.sumMs;
  a.count += b.count;
}

function addFields<T extends object>(out: T, add: T): void {
  const o = out as Record<string, number>;
  const a = add as Record<string, number>;
  for (const key of Object.keys(o)) o[key]! += a[key] ?? 0;
}
