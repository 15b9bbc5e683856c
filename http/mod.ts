/**
 * An HTTPS/1.1 server engine with what Deno.serve lacks: header, body, idle,
 * write and handshake timeouts (slowloris protection), size limits,
 * connection control, graceful draining and strict RFC 9112 parsing.
 *
 * - {@linkcode httpServeTlsOpts}: HTTPS on our TLS layer.
 * - {@linkcode httpServeOpts}: the same engine over plain TCP, behind a proxy.
 * - {@linkcode httpServeTlsWorkers}: the HTTPS engine in N Web Workers
 *   sharing the port (SO_REUSEPORT); `reloadCertificates()` on both.
 * - {@linkcode HttpError}: a protocol error with its status.
 * - Production operations, as server options or standalone:
 *   {@linkcode LoadShedder} (`maxConnections`, `maxInFlight`, `maxQueueMs`,
 *   `priority`, `adaptiveShedding`), {@linkcode AccessLogger} (`accessLog`,
 *   through LogTape; {@linkcode getAccessLogSink} batches it to a file) and
 *   {@linkcode ServerMetrics} with {@linkcode metricsText} (`server.stats()`,
 *   `server.metricsText()`).
 *
 * @example A server with a short header timeout
 * ```ts ignore
 * import { httpServeTlsOpts } from "@quartz/std/http";
 *
 * const server = httpServeTlsOpts(
 *   { port: 8443, headerTimeoutMs: 10_000, maxBodyBytes: 64 * 1024 },
 *   { certFile: "cert.pem", keyFile: "key.pem" },
 *   async (req, info) => {
 *     if (req.method === "POST") return new Response(await req.text());
 *     return new Response(`Request ${info.requestIndex} on this connection`);
 *   },
 * );
 * Deno.addSignalListener("SIGTERM", () => server.shutdown({ graceMs: 5_000 }));
 * await server.finished;
 * ```
 *
 * @module
 */
export {
  ACCESS_LOG_CATEGORY,
  accessLineFormatter,
  type AccessLogEntry,
  type AccessLogFormat,
  AccessLogger,
  type AccessLogLevel,
  type AccessLogOptions,
  escapeLogValue,
} from "./access_log.ts";
export {
  type AccessLogSink,
  type AccessLogSinkOptions,
  type AccessLogSinkRecord,
  getAccessLogSink,
} from "./access_log_sink.ts";
export { HttpError, type HttpErrorCode } from "./errors.ts";
export { LoadShedder } from "./load_shed.ts";
export type {
  AdaptiveShedOptions,
  Admission,
  AdmitOptions,
  LoadShedderOptions,
  LoadShedderStats,
  ShedDecision,
} from "./load_shed_types.ts";
export {
  type ServiceUnavailableOptions,
  serviceUnavailableResponse,
} from "./service_unavailable.ts";
export { ServerMetrics, type ServerMetricsOptions } from "./metrics.ts";
export type {
  LatencyHistogramSnapshot,
  ServerMetricsSnapshot,
  ShedCounts,
  ShedReason,
  StatusClassCounts,
  TimeoutCounts,
  TimeoutKind,
} from "./metrics_snapshot.ts";
export { metricsText, type MetricsTextOptions } from "./metrics_text.ts";
export type {
  HttpConnectionInfo,
  HttpResponseRecord,
  HttpServeHandler,
  HttpServeHandlerInfo,
  HttpServerHooks,
  HttpServerOptions,
  HttpShutdownOptions,
  HttpsTlsConfig,
  HttpTimeoutKind,
} from "./options.ts";
export type { HttpServer, HttpServerStats } from "./server.ts";
export { httpServeOpts } from "./serve.ts";
export { httpServeTlsOpts } from "./serve_tls.ts";
export {
  type CertReloadHandover,
  certReloadHandover,
  type HttpsReloadOptions,
  type HttpsServer,
} from "./cert_reload.ts";
export {
  httpServeTlsWorkers,
  type HttpWorkersConfig,
  type HttpWorkerServer,
  type HttpWorkerServerOptions,
} from "./workers.ts";
