// The public face of a running server.

import type { HttpShutdownOptions } from "./options.ts";

/** A copy of a server's counters, see {@linkcode HttpServer.stats}. */
export interface HttpServerStats {
  /** Connections open now (after their TLS handshake). */
  openConnections: number;
  /** Connections accepted since the start. */
  acceptedConnections: number;
  /** Responses finished, including the parser's rejections. */
  requestsServed: number;
  /** Requests whose response is not finished yet. */
  requestsInFlight: number;
  /** Expired deadlines by kind. */
  timeouts: {
    /** TLS handshakes that took longer than `handshakeTimeoutMs`. */
    handshake: number;
    /** Request heads not complete within `headerTimeoutMs`. */
    header: number;
    /** Request bodies stalled for `bodyTimeoutMs`. */
    body: number;
    /** Keep-alive connections idle for `keepAliveTimeoutMs`. */
    idle: number;
    /** Writes blocked for `writeTimeoutMs`. */
    write: number;
  };
  /** Requests rejected as malformed or over a limit (400, 413, 414, 431, 501, 505). */
  parseErrors: number;
  /** Handlers that threw or returned something other than a Response. */
  handlerErrors: number;
  /** TLS handshakes that failed for another reason than their timeout. */
  handshakeFailures: number;
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
}
