/**
 * An HTTPS/1.1 server engine with what Deno.serve lacks: header, body, idle,
 * write and handshake timeouts (slowloris protection), size limits,
 * connection control, graceful draining and strict RFC 9112 parsing.
 *
 * - {@linkcode httpServeTlsOpts}: HTTPS on our TLS layer.
 * - {@linkcode httpServeOpts}: the same engine over plain TCP, behind a proxy.
 * - {@linkcode HttpError}: a protocol error with its status.
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
export { HttpError, type HttpErrorCode } from "./errors.ts";
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
