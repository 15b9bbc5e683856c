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
 *
 * @example Deciding from the code whether a failure is worth a retry
 * ```ts
 * import { TlsError, type TlsErrorCode } from "@quartz/std/tls";
 * import assert from "node:assert/strict";
 *
 * function retryable(code: TlsErrorCode): boolean {
 *   // The peer went away mid-stream: a new connection may succeed.
 *   return code === "reset" || code === "truncated";
 * }
 *
 * const error = new TlsError("certificate", "Certificate for localhost has expired");
 * assert.equal(retryable(error.code), false);
 * assert.equal(retryable("reset"), true);
 * ```
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

/**
 * Options of the {@linkcode TlsError} constructor.
 *
 * @example Keeping the original error as the cause
 * ```ts
 * import { TlsError, type TlsErrorOptions } from "@quartz/std/tls";
 * import assert from "node:assert/strict";
 *
 * const options: TlsErrorOptions = {
 *   cause: new Deno.errors.ConnectionReset("Connection reset by peer"),
 * };
 * const error = new TlsError("reset", "Connection to 127.0.0.1:8443 was reset", options);
 * assert.equal(error.code, "reset");
 * assert.ok(error.cause instanceof Deno.errors.ConnectionReset);
 * ```
 */
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
