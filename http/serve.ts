// The engine over plain TCP, for deployments behind a TLS-terminating proxy.

import { resolveConfig } from "./_config.ts";
import { ServerImpl } from "./_server.ts";
import type { HttpServeHandler, HttpServerOptions } from "./options.ts";
import type { HttpServer } from "./server.ts";

/**
 * Serves HTTP/1.1 over plain TCP with the same engine as
 * {@linkcode httpServeTlsOpts}: timeouts, limits, strict parsing and
 * graceful draining. Meant for a server behind a TLS-terminating proxy.
 *
 * @param config Address, timeouts, limits and callbacks.
 * @param handler Answers each request (the Deno.serve handler signature).
 * @returns The running server.
 * @throws {TypeError} If `handler` or a callback is not a function.
 * @throws {RangeError} If a timeout or limit is out of range.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 *
 * @example Serve on a free port and stop
 * ```ts ignore
 * import { httpServeOpts } from "@quartz/std/http";
 *
 * const server = httpServeOpts(
 *   { hostname: "127.0.0.1", port: 0, headerTimeoutMs: 10_000 },
 *   (req) => new Response(`You asked for ${new URL(req.url).pathname}`),
 * );
 * await server.shutdown({ graceMs: 1_000 });
 * ```
 */
export function httpServeOpts(
  config: HttpServerOptions,
  handler: HttpServeHandler,
): HttpServer {
  const cfg = resolveConfig(config, handler);
  const listener = Deno.listen({ hostname: cfg.hostname, port: cfg.port });
  return new ServerImpl(
    listener,
    cfg,
    // No handshake: HTTP from the first byte (Nagle off, see Connection).
    null,
    { signal: config.signal, tickMs: Infinity },
  );
}
