import {
  family,
  histogramFamily,
  labelSet,
  pairs,
} from "./_prometheus_text.ts";
import type { ServerMetricsSnapshot } from "./metrics_snapshot.ts";

/**
 * Options for {@linkcode metricsText}.
 *
 * @example Labelling every sample with the worker and the region
 * ```ts
 * import { metricsText, type MetricsTextOptions, ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.connectionAccepted();
 * const options: MetricsTextOptions = { labels: { worker: "1", region: "eu-west" } };
 * const text = metricsText(metrics.snapshot(), options);
 * assert.match(text, /^quartz_http_connections_open\{worker="1",region="eu-west"\} 1$/m);
 *
 * // Label names follow the Prometheus rules.
 * assert.throws(() => metricsText(metrics.snapshot(), { labels: { "1st": "x" } }), RangeError);
 * ```
 */
export interface MetricsTextOptions {
  /**
   * Constant labels added to every sample, e.g. `{ worker: "1" }`. Names must
   * match `[a-zA-Z_][a-zA-Z0-9_]*`; values are escaped.
   *
   * @default {{}}
   */
  labels?: Readonly<Record<string, string>>;
}

/**
 * Renders stats in the Prometheus text exposition format (version 0.0.4),
 * every metric named `quartz_http_*`; latency is exported in seconds as
 * `quartz_http_request_duration_seconds`. Serve it with
 * `Content-Type: text/plain; version=0.0.4`.
 *
 * @example Render a snapshot
 * ```ts
 * import { metricsText, ServerMetrics } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics();
 * metrics.connectionAccepted();
 * const text = metricsText(metrics.snapshot(), { labels: { worker: "0" } });
 * assert.match(text, /^quartz_http_connections_accepted_total\{worker="0"\} 1$/m);
 * ```
 *
 * @param stats A snapshot from {@linkcode ServerMetrics.snapshot} or
 *   {@linkcode ServerMetrics.merge}.
 * @param options Constant labels.
 * @returns The exposition text, ending with a newline.
 * @throws {RangeError} If a label name is invalid.
 */
export function metricsText(
  stats: ServerMetricsSnapshot,
  options: MetricsTextOptions = {},
): string {
  const base = labelSet(options.labels ?? {});
  const out: string[] = [];
  const P = "quartz_http_";
  const c = stats.connections;
  const r = stats.requests;
  family(out, `${P}connections_open`, "gauge", "Connections open now.", base, [
    ["", c.open],
  ]);
  family(
    out,
    `${P}connections_accepted_total`,
    "counter",
    "Connections admitted.",
    base,
    [["", c.accepted]],
  );
  family(
    out,
    `${P}connections_shed_total`,
    "counter",
    "Connections shed by maxConnections.",
    base,
    [["", c.shed]],
  );
  family(
    out,
    `${P}shed_total`,
    "counter",
    "Connections and requests shed, by reason.",
    base,
    pairs("reason", c.shedByReason),
  );
  family(
    out,
    `${P}requests_total`,
    "counter",
    "Responses finished, by status class.",
    base,
    pairs("class", r.byStatusClass),
  );
  family(
    out,
    `${P}requests_in_flight`,
    "gauge",
    "Requests being handled now.",
    base,
    [["", r.inFlight]],
  );
  family(
    out,
    `${P}requests_queued`,
    "gauge",
    "Requests waiting for admission now.",
    base,
    [["", r.queued]],
  );
  if (r.concurrencyLimit !== undefined) {
    family(
      out,
      `${P}concurrency_limit`,
      "gauge",
      "Requests admission control lets in at once now.",
      base,
      [["", r.concurrencyLimit]],
    );
  }
  family(
    out,
    `${P}requests_shed_total`,
    "counter",
    "Requests shed by admission control.",
    base,
    [["", r.shed]],
  );
  family(
    out,
    `${P}timeouts_total`,
    "counter",
    "Expired deadlines, by kind.",
    base,
    pairs("kind", stats.timeouts),
  );
  family(
    out,
    `${P}handshake_failures_total`,
    "counter",
    "Failed TLS handshakes.",
    base,
    [["", stats.handshakeFailures]],
  );
  family(
    out,
    `${P}parse_errors_total`,
    "counter",
    "Requests that could not be parsed.",
    base,
    [["", stats.parseErrors]],
  );
  family(
    out,
    `${P}received_bytes_total`,
    "counter",
    "Bytes read from peers.",
    base,
    [["", stats.bytesIn]],
  );
  family(
    out,
    `${P}sent_bytes_total`,
    "counter",
    "Bytes written to peers.",
    base,
    [["", stats.bytesOut]],
  );
  histogramFamily(
    out,
    `${P}request_duration_seconds`,
    "Time from request start to response finished.",
    base,
    stats.latency,
  );
  return out.join("\n") + "\n";
}
