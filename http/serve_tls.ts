// The HTTPS server: TLS listener, handshake under a deadline, then the
// HTTP/1.1 engine.

import { resolveConfig } from "./_config.ts";
import {
  HttpsServerImpl,
  listenTlsPair,
  reusePortSupported,
} from "./_cert_reload.ts";
import { pendingHandshakeSockets } from "../tls/mod.ts";
import type {
  HttpServeHandler,
  HttpServerOptions,
  HttpsTlsConfig,
} from "./options.ts";
import type { HttpsServer } from "./cert_reload.ts";

function pem(
  tls: HttpsTlsConfig,
): { cert: string; key: string } {
  if (tls === null || typeof tls !== "object") {
    throw new TypeError(`Invalid tlsConfig ${String(tls)}: expected an object`);
  }
  const cert = tls.cert ??
    (tls.certFile !== undefined ? Deno.readTextFileSync(tls.certFile) : null);
  const key = tls.key ??
    (tls.keyFile !== undefined ? Deno.readTextFileSync(tls.keyFile) : null);
  if (typeof cert !== "string" || typeof key !== "string") {
    throw new TypeError(
      "Invalid tlsConfig: expected cert and key (or certFile and keyFile)",
    );
  }
  return { cert, key };
}

/**
 * Serves HTTPS/1.1 with our own strict HTTP engine: header, body, idle,
 * write and handshake timeouts, size limits, keep-alive and pipelining, and
 * graceful draining. The handler has the Deno.serve signature.
 *
 * @param config Address, timeouts, limits and callbacks.
 * @param tlsConfig Certificate and key (PEM or files), ALPN, handshake timeout.
 * @param handler Answers each request.
 * @returns The running server; `reloadCertificates()` swaps the certificate.
 * @throws {TypeError} If the handler, a callback or the TLS material is missing or invalid.
 * @throws {RangeError} If a timeout or limit is out of range.
 * @throws {Deno.errors.NotFound} If `certFile` or `keyFile` does not exist.
 *
 * @example Serve HTTPS on a free port
 * ```ts ignore
 * import { httpServeTlsOpts } from "@quartz/std/http";
 *
 * const server = httpServeTlsOpts(
 *   { hostname: "127.0.0.1", port: 0, headerTimeoutMs: 10_000 },
 *   { certFile: "testdata/localhost.pem", keyFile: "testdata/localhost.key" },
 *   (_req, info) => new Response(`Hello ${info.remoteAddr.hostname}`),
 * );
 * console.log(`https://localhost:${server.addr.port}/`);
 * await server.shutdown();
 * ```
 */
export function httpServeTlsOpts(
  config: HttpServerOptions,
  tlsConfig: HttpsTlsConfig,
  handler: HttpServeHandler,
): HttpsServer {
  const cfg = resolveConfig(config, handler);
  const { cert, key } = pem(tlsConfig);
  const alpnProtocols = tlsConfig.alpnProtocols ?? ["http/1.1"];
  const handshakeTimeoutMs = tlsConfig.handshakeTimeoutMs ?? 60_000;
  if (!(handshakeTimeoutMs > 0)) {
    throw new RangeError(
      `Invalid handshakeTimeoutMs ${handshakeTimeoutMs}: expected a positive number`,
    );
  }
  const reusePort = tlsConfig.reusePort ?? reusePortSupported();
  const params = { hostname: cfg.hostname, port: cfg.port, alpnProtocols };
  const listener = listenTlsPair({ ...params, reusePort }, { cert, key });
  const files = tlsConfig.cert === undefined && tlsConfig.key === undefined
    ? { certFile: tlsConfig.certFile!, keyFile: tlsConfig.keyFile! }
    : null;
  const server = new HttpsServerImpl([
    listener,
    cfg,
    // The handshake runs under the server's deadline sweep (a timer and an
    // abort listener per handshake were 5% of the JavaScript time of a
    // Connection: close exchange); see Connection.run().
    handshakeTimeoutMs,
    { signal: config.signal, tickMs: handshakeTimeoutMs },
  ], { params: { ...params, reusePort }, pair: { cert, key }, files });
  server.abandonedHandshakes = () => pendingHandshakeSockets().abandoned;
  return server;
}
