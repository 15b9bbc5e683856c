import { checkTimeout, raceDeadline } from "./_deadline.ts";
import { handshake } from "./_handshake.ts";
import { toTlsError } from "./_map_error.ts";
import type { TlsStream } from "./stream.ts";

/**
 * Options of {@linkcode tlsConnectAsync}.
 *
 * @example A client for a service signed by a private CA
 * ```ts
 * import { tlsConnectAsync, type TlsConnectOptions, type TlsStream } from "@quartz/std/tls";
 *
 * function connect(caPem: string, signal: AbortSignal): Promise<TlsStream> {
 *   const options: TlsConnectOptions = {
 *     hostname: "localhost", // sent as SNI and checked against the certificate
 *     port: 8443,
 *     caCerts: [caPem], // trusted instead of the system roots
 *     alpnProtocols: ["http/1.1"],
 *     timeoutMs: 5000, // connect plus handshake
 *     signal,
 *   };
 *   return tlsConnectAsync(options);
 * }
 * ```
 */
export interface TlsConnectOptions {
  /**
   * Server name: used for SNI and checked against the certificate.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** Server port. */
  port: number;
  /**
   * PEM CA certificates to trust instead of the system roots.
   *
   * @default {undefined} (system roots)
   */
  caCerts?: string[];
  /**
   * ALPN protocols offered, most preferred first.
   *
   * @default {undefined} (no ALPN)
   */
  alpnProtocols?: string[];
  /**
   * Close and reject with a `TimeoutError` DOMException if connect plus
   * handshake take longer than this many milliseconds.
   *
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * Close and reject with `signal.reason` when this aborts.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Connects to a TLS server and completes the handshake, bounded by `timeoutMs`
 * and `signal`.
 *
 * @param options Address, trust, ALPN, timeout and signal.
 * @returns The stream, once the handshake has completed.
 * @throws {TlsError} `certificate` (expired, wrong host, unknown CA), `handshake`, `reset`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 * @throws {RangeError} If `timeoutMs` is negative or not finite.
 *
 * @example Connect with a private CA
 * ```ts ignore
 * import { tlsConnectAsync } from "@quartz/std/tls";
 *
 * const caCerts = [await Deno.readTextFile("ca.pem")];
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443, caCerts, timeoutMs: 5000 });
 * console.log(stream.alpnProtocol);
 * ```
 */
export function tlsConnectAsync(
  options: TlsConnectOptions,
): Promise<TlsStream> {
  checkTimeout(options.timeoutMs);
  return connect(options, options.timeoutMs ?? 10_000);
}

async function connect(
  options: TlsConnectOptions,
  timeoutMs: number,
): Promise<TlsStream> {
  const signal = options.signal;
  if (signal?.aborted) throw signal.reason;
  const started = Date.now();
  const connectOptions: Deno.ConnectTlsOptions = { port: options.port };
  if (options.hostname !== undefined) {
    connectOptions.hostname = options.hostname;
  }
  if (options.caCerts !== undefined) connectOptions.caCerts = options.caCerts;
  if (options.alpnProtocols !== undefined) {
    connectOptions.alpnProtocols = options.alpnProtocols;
  }
  const connecting = Deno.connectTls(connectOptions);
  let conn: Deno.TlsConn;
  try {
    conn = await raceDeadline(connecting, timeoutMs, signal, "TLS connect");
  } catch (e) {
    // A TCP connect cannot be cancelled: close the connection if it arrives late.
    connecting.then((c) => c.close(), () => {});
    throw toTlsError(e, "handshake", signal);
  }
  const left = Math.max(0, timeoutMs - (Date.now() - started));
  return await handshake(conn, left, signal);
}
