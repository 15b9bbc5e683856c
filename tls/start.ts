import { checkTimeout } from "./_deadline.ts";
import { handshake } from "./_handshake.ts";
import { closeQuietly, toTlsError } from "./_map_error.ts";
import type { TlsStream } from "./stream.ts";

/**
 * Options of {@linkcode tlsStartAsync}.
 *
 * @example Upgrading an SMTP connection after STARTTLS
 * ```ts
 * import { tlsStartAsync, type TlsStartOptions, type TlsStream } from "@quartz/std/tls";
 *
 * const startOptions: TlsStartOptions = {
 *   hostname: "localhost", // the name the server's certificate must carry
 *   timeoutMs: 5000,
 * };
 *
 * // Call once the server has answered "220 Ready to start TLS" in plaintext.
 * function upgrade(tcp: Deno.TcpConn): Promise<TlsStream> {
 *   return tlsStartAsync(tcp, startOptions);
 * }
 * ```
 */
export interface TlsStartOptions {
  /**
   * Server name: used for SNI and checked against the certificate.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
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
   * Close and reject with a `TimeoutError` DOMException if the handshake takes
   * longer than this many milliseconds.
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
 * Upgrades a plain TCP connection to TLS as the client (STARTTLS), with the
 * same timeout and cancel semantics as {@linkcode tlsConnectAsync}. The
 * function owns `conn`: on failure, timeout or cancel it is closed.
 *
 * @param conn A connected TCP connection, with no read or write in progress.
 * @param options Server name, trust, ALPN, timeout and signal.
 * @returns The stream, once the handshake has completed.
 * @throws {TlsError} `certificate`, `handshake`, `reset`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 * @throws {RangeError} If `timeoutMs` is negative or not finite.
 *
 * @example Upgrade after a plaintext greeting
 * ```ts ignore
 * import { tlsStartAsync } from "@quartz/std/tls";
 *
 * const tcp = await Deno.connect({ hostname: "localhost", port: 2525 });
 * // ... exchange the protocol's STARTTLS command in plaintext ...
 * await using stream = await tlsStartAsync(tcp, { hostname: "localhost", timeoutMs: 5000 });
 * ```
 */
export function tlsStartAsync(
  conn: Deno.TcpConn,
  options?: TlsStartOptions,
): Promise<TlsStream> {
  checkTimeout(options?.timeoutMs);
  return start(conn, options, options?.timeoutMs ?? 10_000);
}

async function start(
  conn: Deno.TcpConn,
  options: TlsStartOptions | undefined,
  timeoutMs: number,
): Promise<TlsStream> {
  const signal = options?.signal;
  if (signal?.aborted) {
    conn.close();
    throw signal.reason;
  }
  const startOptions: Deno.StartTlsOptions = {};
  if (options?.hostname !== undefined) startOptions.hostname = options.hostname;
  if (options?.caCerts !== undefined) startOptions.caCerts = options.caCerts;
  if (options?.alpnProtocols !== undefined) {
    startOptions.alpnProtocols = options.alpnProtocols;
  }
  let tls: Deno.TlsConn;
  try {
    // startTls only wraps the socket; the handshake runs in handshake() below.
    tls = await Deno.startTls(conn, startOptions);
  } catch (e) {
    // startTls may have taken the socket over before failing.
    closeQuietly(conn);
    throw toTlsError(e, "handshake");
  }
  return await handshake(tls, timeoutMs, signal);
}
