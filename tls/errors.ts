/**
 * What went wrong on a TLS connection, as carried by {@linkcode TlsError.code}.
 *
 * - `handshake`: the handshake failed (garbage or plaintext from the peer, no common
 *   protocol version or cipher, the peer gave up during the handshake).
 * - `certificate`: a certificate was refused (expired, wrong host, unknown CA), on
 *   either side.
 * - `reset`: the peer reset or aborted the connection (ECONNRESET, EPIPE).
 * - `truncated`: the peer ended the TCP stream without sending close_notify.
 * - `protocol`: the peer sent corrupt TLS records after the handshake.
 * - `closed`: the stream was used after it was closed (by the caller, by
 *   `tlsCloseAsync`, or by a write that timed out or was cancelled).
 * - `busy`: a second read (or write) started while one was in progress.
 * - `io`: any other I/O failure; `cause` holds the original error.
 */
export type TlsErrorCode =
  | "handshake"
  | "certificate"
  | "reset"
  | "truncated"
  | "protocol"
  | "closed"
  | "busy"
  | "io";

/** Options of the {@linkcode TlsError} constructor. */
export interface TlsErrorOptions {
  /**
   * The error that caused this one, usually a `Deno.errors.*` instance.
   *
   * @default {undefined}
   */
  cause?: unknown;
}

/**
 * A TLS failure a caller can act on; `code` tells which.
 *
 * @example Telling a refused certificate from other failures
 * ```ts ignore
 * import { TlsError, tlsConnectAsync } from "@quartz/std/tls";
 *
 * try {
 *   await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * } catch (e) {
 *   if (e instanceof TlsError && e.code === "certificate") console.error("Bad certificate");
 *   else throw e;
 * }
 * ```
 */
export class TlsError extends Error {
  /** Which kind of failure this is. */
  readonly code: TlsErrorCode;

  /**
   * Creates a TlsError.
   *
   * @param code Which kind of failure this is.
   * @param message A sentence that starts with a capital letter, without a final period.
   * @param options The `cause`.
   */
  constructor(code: TlsErrorCode, message: string, options?: TlsErrorOptions) {
    super(
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "TlsError";
    this.code = code;
  }
}
