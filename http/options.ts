// Configuration of the HTTP/1.1 server engine. Defaults follow what nginx and
// Node ship; each field says which one and why.

import type { AccessLogOptions } from "./access_log.ts";
import type { AdaptiveShedOptions } from "./load_shed_types.ts";

/**
 * Which per-connection deadline expired.
 *
 * @example Counting closed connections by the deadline that expired
 * ```ts
 * import type { HttpServerHooks, HttpTimeoutKind } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const timeouts: Record<HttpTimeoutKind, number> = {
 *   handshake: 0,
 *   header: 0,
 *   body: 0,
 *   idle: 0,
 *   write: 0,
 * };
 * const hooks: HttpServerHooks = { onTimeout: (kind) => timeouts[kind]++ };
 *
 * hooks.onTimeout?.("header"); // as the server calls it when headerTimeoutMs passes
 * assert.equal(timeouts.header, 1);
 * ```
 */
export type HttpTimeoutKind =
  | "handshake"
  | "header"
  | "body"
  | "idle"
  | "write";

/**
 * What the handler receives next to the `Request`, like Deno.serve's
 * `ServeHandlerInfo`.
 *
 * @example Unit-testing a handler with a hand-made info
 * ```ts
 * import type { HttpServeHandler, HttpServeHandlerInfo } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const handler: HttpServeHandler = (_request, info) =>
 *   new Response(`${info.remoteAddr.hostname} request #${info.requestIndex + 1}`);
 *
 * const info: HttpServeHandlerInfo = {
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50_000 },
 *   localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
 *   alpnProtocol: null,
 *   signal: new AbortController().signal,
 *   requestIndex: 1,
 *   completed: Promise.resolve(),
 * };
 * const response = await handler(new Request("http://localhost/"), info);
 * assert.equal(await response.text(), "127.0.0.1 request #2");
 * ```
 */
export interface HttpServeHandlerInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The server-side address of the connection. */
  readonly localAddr: Deno.NetAddr;
  /** The protocol chosen by ALPN (`"http/1.1"`), `null` without TLS or ALPN. */
  readonly alpnProtocol: string | null;
  /**
   * Aborts when the client goes away (the connection reached end of file or
   * failed), when a deadline closes the connection, or when a shutdown's
   * grace period ends; never when the response simply completes (see
   * `completed`). `req.signal` is this same signal.
   */
  readonly signal: AbortSignal;
  /** The request's index on its connection: 0 for the first request. */
  readonly requestIndex: number;
  /**
   * As in Deno.serve: resolves once the whole response (body included) has
   * been written to the connection; rejects with `Deno.errors.Interrupted`
   * when it could not be (the client left, a deadline or shutdown closed the
   * connection, the body stream failed). A rejection nobody listens to is
   * not reported.
   */
  readonly completed: Promise<void>;
}

/**
 * A request handler: the Deno.serve handler signature.
 *
 * @param request The request; its body streams from the connection.
 * @param info Addresses, ALPN protocol, a cancellation signal and the index.
 * @returns The response.
 *
 * @example A handler with a health check, passed to the server
 * ```ts
 * import { type HttpServeHandler, type HttpServer, httpServeOpts } from "@quartz/std/http";
 *
 * const handler: HttpServeHandler = (request, info) => {
 *   const { pathname } = new URL(request.url);
 *   if (pathname === "/health") return new Response("ok");
 *   return new Response(`Hello ${info.remoteAddr.hostname}`);
 * };
 *
 * function serve(): HttpServer {
 *   return httpServeOpts({ hostname: "127.0.0.1", port: 8080 }, handler);
 * }
 * ```
 */
export type HttpServeHandler = (
  request: Request,
  info: HttpServeHandlerInfo,
) => Response | Promise<Response>;

/**
 * A connection as the hooks see it.
 *
 * @example Logging how many requests each connection carried
 * ```ts
 * import type { HttpConnectionInfo, HttpServerOptions } from "@quartz/std/http";
 *
 * function onConnectionClose(conn: HttpConnectionInfo): void {
 *   const { hostname, port } = conn.remoteAddr;
 *   console.log(`${hostname}:${port} closed after ${conn.requests} requests`);
 * }
 * // Pass it to httpServeOpts or httpServeTlsOpts.
 * const config: HttpServerOptions = { port: 8080, hooks: { onConnectionClose } };
 * ```
 */
export interface HttpConnectionInfo {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The server-side address. */
  readonly localAddr: Deno.NetAddr;
  /** Requests answered on this connection so far. */
  readonly requests: number;
}

/**
 * A finished response as the hooks see it.
 *
 * @example Counting responses the client did not get in full, and slow ones
 * ```ts
 * import type { HttpResponseRecord, HttpServerHooks } from "@quartz/std/http";
 *
 * let incomplete = 0;
 * const hooks: HttpServerHooks = {
 *   onResponseEnd: (record: HttpResponseRecord) => {
 *     if (!record.complete) incomplete++;
 *     if (record.durationMs > 1000) {
 *       console.warn(`Slow: ${record.method} ${record.target} ${record.status} ${record.durationMs} ms`);
 *     }
 *   },
 * };
 * ```
 */
export interface HttpResponseRecord {
  /** The client's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** When the request head was complete, milliseconds since the epoch. */
  readonly time: number;
  /** The method, or `null` when the head could not be parsed. */
  readonly method: string | null;
  /** The request-target as received, or `null` when not parsed. */
  readonly target: string | null;
  /** `"HTTP/1.1"` or `"HTTP/1.0"`, or `null` when not parsed. */
  readonly protocol: string | null;
  /** The request line as received (latin1), `null` when nothing arrived. */
  readonly requestLine: string | null;
  /** The request's header fields, flat `[name, value, ...]` (empty if none). */
  readonly headers: readonly string[];
  /** The status sent. */
  readonly status: number;
  /** Body bytes written (not counting the head or chunk framing). */
  readonly bytesSent: number;
  /** From the head being complete to the last byte written, milliseconds. */
  readonly durationMs: number;
  /** Whether every byte of the response was written. */
  readonly complete: boolean;
}

/**
 * Observation points on the per-request path, for access logs, metrics and
 * admission control. Each hook is called synchronously; keep it cheap. A hook
 * that throws is reported to `onError` and does not disturb the connection.
 *
 * @example Gauges and counters from the hooks
 * ```ts
 * import { type HttpServer, type HttpServerHooks, httpServeOpts } from "@quartz/std/http";
 *
 * let openConnections = 0;
 * const timeouts = new Map<string, number>();
 * const hooks: HttpServerHooks = {
 *   onConnectionOpen: () => openConnections++,
 *   onConnectionClose: () => openConnections--,
 *   onTimeout: (kind) => timeouts.set(kind, (timeouts.get(kind) ?? 0) + 1),
 *   onParseError: (status, error) => console.warn(`Rejected with ${status}:`, error),
 * };
 *
 * function serve(): HttpServer {
 *   return httpServeOpts({ port: 8080, hooks }, () => new Response("hi"));
 * }
 * ```
 */
export interface HttpServerHooks {
  /** A connection was accepted (after the TLS handshake). */
  onConnectionOpen?: (conn: HttpConnectionInfo) => void;
  /** A connection is gone. */
  onConnectionClose?: (conn: HttpConnectionInfo) => void;
  /** A request head was parsed and the handler is about to run. */
  onRequestStart?: (request: Request, info: HttpServeHandlerInfo) => void;
  /** A response was written completely or abandoned. */
  onResponseEnd?: (record: HttpResponseRecord) => void;
  /** A deadline closed a connection. */
  onTimeout?: (kind: HttpTimeoutKind) => void;
  /** A request was rejected by the parser with `status` (0: closed silently). */
  onParseError?: (status: number, error: unknown) => void;
}

/**
 * Options of {@linkcode httpServeOpts} and {@linkcode httpServeTlsOpts}.
 *
 * @example Tighter limits for a public server; bad values throw before binding
 * ```ts
 * import { httpServeOpts, type HttpServerOptions } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const config: HttpServerOptions = {
 *   hostname: "127.0.0.1",
 *   port: 8080,
 *   headerTimeoutMs: 10_000, // a client trickling its head gets 408 after 10 s
 *   maxBodyBytes: 10 * 1024 * 1024,
 *   maxInFlight: 256,
 *   maxQueueMs: 500,
 *   accessLog: { format: "json" },
 * };
 * assert.throws(
 *   () => httpServeOpts({ ...config, headerTimeoutMs: -1 }, () => new Response("hi")),
 *   RangeError,
 * );
 * ```
 */
export interface HttpServerOptions {
  /**
   * The interface to bind.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * The port to bind; 0 picks a free one (see `HttpServer.addr`).
   *
   * @default {8000}
   */
  port?: number;
  /**
   * Aborting it shuts the server down gracefully, like `shutdown()`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * How long an idle keep-alive connection may wait for its next request
   * (Node's `keepAliveTimeout`; nginx ships 75 s, too long for a server that
   * counts open sockets).
   *
   * @default {5000}
   */
  keepAliveTimeoutMs?: number;
  /**
   * The whole request head must arrive within this time of its first byte
   * (of the connection, for the first request): a total deadline, so a client
   * trickling bytes is cut off with 408 (nginx `client_header_timeout` and
   * Node `headersTimeout`: 60 s).
   *
   * @default {60000}
   */
  headerTimeoutMs?: number;
  /**
   * The longest wait between two reads of a request body (nginx
   * `client_body_timeout`: 60 s).
   *
   * @default {60000}
   */
  bodyTimeoutMs?: number;
  /**
   * The longest a single write of the response may block on a client that
   * does not read (nginx `send_timeout`: 60 s).
   *
   * @default {60000}
   */
  writeTimeoutMs?: number;
  /**
   * Requests served on one connection before it is closed; 0 means no limit
   * (as Node's `maxRequestsPerSocket` and `Deno.serve`). nginx's
   * `keepalive_requests` is 1000: a limit rotates long-lived connections
   * across a load balancer's backends, but every rotation costs the client a
   * new TLS handshake (measured: keep-alive p99 6 ms unlimited, 29 ms at 1000).
   *
   * @default {0}
   */
  maxRequestsPerConnection?: number;
  /**
   * The request line plus header fields, in bytes; above: 431 (Node's
   * `maxHeaderSize`: 16 KiB).
   *
   * @default {16384}
   */
  maxHeaderBytes?: number;
  /**
   * Header field lines per request; above: 431 (Apache
   * `LimitRequestFields`: 100; Node's 2000 cannot be reached within 16 KiB of
   * realistic fields).
   *
   * @default {100}
   */
  maxHeaderCount?: number;
  /**
   * The request-target's length in bytes; above: 414 (nginx
   * `large_client_header_buffers`: 8 KiB per line).
   *
   * @default {8192}
   */
  maxUrlBytes?: number;
  /**
   * A request body's length in bytes; above: 413 (nginx
   * `client_max_body_size`: 1 MiB).
   *
   * @default {1048576}
   */
  maxBodyBytes?: number;
  /**
   * Called once the server listens.
   *
   * @default {undefined} (prints nothing)
   */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Called with an error thrown by the handler (the client gets a 500) or by
   * a hook; it may return the response to send instead of the 500.
   *
   * @default {undefined} (logs with console.error and answers 500)
   */
  onError?: (error: unknown) => Response | Promise<Response> | void;
  /**
   * Observation points for access logs, metrics and admission control.
   *
   * @default {{}}
   */
  hooks?: HttpServerHooks;
  /**
   * Connections served at once; a connection beyond it is shed (closed before
   * its TLS handshake, or answered 503 after it, see `shedBeforeHandshake`)
   * without touching the admitted ones. Set it as a memory bound.
   *
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * `true` closes a connection shed by `maxConnections` before its TLS
   * handshake (cheapest); `false` completes the handshake and sends a
   * minimal 503 with `Retry-After` and `Connection: close`.
   *
   * @default {true}
   */
  shedBeforeHandshake?: boolean;
  /**
   * Requests handled at once (handlers running or responses being written);
   * more wait, the highest priority class first, for at most `maxQueueMs`.
   *
   * @default {Infinity} (with `adaptiveShedding`: a limit learnt from slot
   * hold times, see {@linkcode AdaptiveShedOptions})
   */
  maxInFlight?: number;
  /**
   * Longest wait for a request slot, in milliseconds. A request predicted to
   * wait longer gets 503 with `Retry-After` at once; `0` disables waiting.
   *
   * @default {1000}
   */
  maxQueueMs?: number;
  /**
   * The priority class of a request: `"critical"` (health checks, admin:
   * served as long as anything is, with reserved slots), `"normal"` or
   * `"low"` (shed first). Called only when shedding is configured.
   *
   * @default {undefined} (every request is "normal")
   */
  priority?: (
    request: Request,
    info: HttpServeHandlerInfo,
  ) => "critical" | "normal" | "low";
  /**
   * Bounds the wait by the queue's state (adaptive CoDel): up to
   * `intervalMs` for a burst, at most `targetMs` once the queue has stood
   * for `intervalMs`; sheds whole low classes under overload. Neither
   * `maxQueueMs` nor `maxInFlight` needs tuning: without `maxInFlight` the
   * in-flight limit adapts to slot hold times, shrinking when the backend
   * slows down (`initialLimit` 20, `minLimit` 2, `maxLimit` 1024). `true`
   * for a 5 ms target over 100 ms intervals.
   *
   * @default {false}
   */
  adaptiveShedding?: boolean | AdaptiveShedOptions;
  /**
   * The smallest `Retry-After` of a shed response, in seconds.
   *
   * @default {1}
   */
  retryAfterSeconds?: number;
  /**
   * One line per finished response through LogTape (category
   * `["quartz", "http", "access"]`), Apache combined by default: `true` for
   * the defaults or the logger's options. `false` costs nothing per request.
   *
   * @default {false}
   */
  accessLog?: boolean | AccessLogOptions;
}

/**
 * TLS settings of {@linkcode httpServeTlsOpts}: files or PEM strings.
 *
 * @example Certificate files and a shorter handshake timeout
 * ```ts
 * import { httpServeTlsOpts, type HttpsTlsConfig } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const tls: HttpsTlsConfig = {
 *   certFile: "/etc/ssl/example/fullchain.pem",
 *   keyFile: "/etc/ssl/example/privkey.pem",
 *   handshakeTimeoutMs: 10_000,
 * };
 * // Without a certificate and key the server refuses to start; nothing is bound.
 * assert.throws(() => httpServeTlsOpts({ port: 8443 }, {}, () => new Response("hi")), TypeError);
 * ```
 */
export interface HttpsTlsConfig {
  /**
   * Path of the PEM certificate chain (or give `cert`).
   *
   * @default {undefined}
   */
  certFile?: string;
  /**
   * Path of the PEM private key (or give `key`).
   *
   * @default {undefined}
   */
  keyFile?: string;
  /**
   * The PEM certificate chain.
   *
   * @default {undefined}
   */
  cert?: string;
  /**
   * The PEM private key.
   *
   * @default {undefined}
   */
  key?: string;
  /**
   * Protocols offered by ALPN; this server speaks HTTP/1.1 only.
   *
   * @default {["http/1.1"]}
   */
  alpnProtocols?: string[];
  /**
   * How long a TLS handshake may take (nginx `ssl_handshake_timeout`: 60 s;
   * Node ships 120 s).
   *
   * @default {60000}
   */
  handshakeTimeoutMs?: number;
  /**
   * Bind with `SO_REUSEPORT`, so `reloadCertificates()` opens the new
   * listener before closing the old one and several processes or workers
   * can share the port. Needs Linux and `--unstable-net` (`true` without
   * that flag throws a TypeError); without it a reload closes and reopens
   * the listener.
   *
   * @default {true on Linux with --unstable-net, else false}
   */
  reusePort?: boolean;
}

/**
 * Options of {@linkcode HttpServer.shutdown}.
 *
 * @example Draining on SIGTERM within a 30 s orchestrator grace period
 * ```ts
 * import type { HttpServer, HttpShutdownOptions } from "@quartz/std/http";
 *
 * const drain: HttpShutdownOptions = { graceMs: 25_000 };
 *
 * function stopOnSigterm(server: HttpServer): void {
 *   Deno.addSignalListener("SIGTERM", () => {
 *     server.shutdown(drain).catch((error) => console.error(error));
 *   });
 * }
 * ```
 */
export interface HttpShutdownOptions {
  /**
   * How long in-flight requests may take to finish before their signals
   * abort and their connections close.
   *
   * @default {10000}
   */
  graceMs?: number;
}
