// The public face of a running server.

import type { ServerMetricsSnapshot } from "./metrics_snapshot.ts";
import type { MetricsTextOptions } from "./metrics_text.ts";
import type { HttpShutdownOptions } from "./options.ts";

/**
 * A copy of a server's counters, see {@linkcode HttpServer.stats}: the
 * {@linkcode ServerMetricsSnapshot} (connections, requests by status class,
 * sheds by reason, timeouts, bytes, queue depth, latency histogram) plus the
 * engine's own flat counters.
 *
 * @example A status endpoint built from the counters
 * ```ts
 * import type { HttpServer, HttpServerStats } from "@quartz/std/http";
 *
 * function status(server: HttpServer): Response {
 *   const stats: HttpServerStats = server.stats();
 *   return Response.json({
 *     open: stats.openConnections,
 *     inFlight: stats.requestsInFlight,
 *     served: stats.requestsServed,
 *     handlerErrors: stats.handlerErrors,
 *   });
 * }
 * ```
 */
export interface HttpServerStats extends ServerMetricsSnapshot {
  /** Connections open now (after their TLS handshake). */
  openConnections: number;
  /** Connections accepted since the start. */
  acceptedConnections: number;
  /** Responses finished, including the parser's rejections. */
  requestsServed: number;
  /** Requests whose response is not finished yet. */
  requestsInFlight: number;
  /** Handlers that threw or returned something other than a Response. */
  handlerErrors: number;
  /**
   * TLS handshakes given up (timeout or shutdown) in this process, from the
   * TLS layer. On Deno 2.9 each may still pin a socket until its peer sends
   * or closes, so a rising count means silent clients are holding sockets;
   * 0 over TCP.
   */
  abandonedTlsHandshakes: number;
}

/**
 * A running server from {@linkcode httpServeTlsOpts} or
 * {@linkcode httpServeOpts}.
 *
 * @example Serve, then drain
 * ```ts ignore
 * import { httpServeOpts } from "@quartz/std/http";
 *
 * const server = httpServeOpts({ port: 0 }, () => new Response("hi"));
 * console.log(server.addr.port);
 * await server.shutdown({ graceMs: 5_000 });
 * ```
 */
export interface HttpServer extends AsyncDisposable {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has stopped and every connection is gone. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting at once, closes idle keep-alive connections, lets
   * in-flight requests finish (their responses carry `Connection: close`),
   * and after `graceMs` aborts the handlers' signals and closes what is left.
   *
   * @param options The grace period.
   * @returns {@linkcode HttpServer.finished}.
   */
  shutdown(options?: HttpShutdownOptions): Promise<void>;
  /**
   * The server's counters.
   *
   * @returns A plain copy, safe to serialise as JSON.
   */
  stats(): HttpServerStats;
  /**
   * The stats in the Prometheus text format 0.0.4 (serve it with
   * `Content-Type: text/plain; version=0.0.4`), see `metricsText()`.
   *
   * @param options Constant labels, e.g. `{ worker: "1" }`.
   * @returns The exposition text.
   * @throws {RangeError} If a label name is invalid.
   */
  metricsText(options?: MetricsTextOptions): string;
}
