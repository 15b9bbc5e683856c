import { checkTimeout } from "./_deadline.ts";
import { handshake } from "./_handshake.ts";
import type { TlsStream } from "./stream.ts";

/**
 * Options of {@linkcode tlsAcceptAsync}.
 *
 * @example Bounding every handshake of an accept loop
 * ```ts
 * import { tlsAcceptAsync, type TlsAcceptOptions, type TlsStream } from "@quartz/std/tls";
 *
 * const shutdown = new AbortController();
 * // Silent clients get 5 s to finish the handshake; shutdown.abort() drops the rest.
 * const accept: TlsAcceptOptions = { timeoutMs: 5000, signal: shutdown.signal };
 *
 * function onConnection(conn: Deno.TlsConn): Promise<TlsStream> {
 *   return tlsAcceptAsync(conn, accept);
 * }
 * ```
 */
export interface TlsAcceptOptions {
  /**
   * Close the connection and reject with a `TimeoutError` DOMException if the
   * handshake has not completed after this many milliseconds.
   *
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * Close the connection and reject with `signal.reason` when this aborts.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

let pending = 0;
let abandoned = 0;

/**
 * Completes the server handshake of one accepted connection, bounded by
 * `timeoutMs` and `signal`. Call it without awaiting it in the accept loop, so
 * the loop never waits on one client's handshake. The function owns `conn`:
 * on failure, timeout or cancel the connection is closed.
 *
 * @param conn A connection from `Deno.TlsListener.accept()` (handshake not yet run).
 * @param options Timeout and signal.
 * @returns The stream, once the handshake has completed.
 * @throws {TlsError} `handshake` (garbage, plaintext, version mismatch), `certificate`, `reset`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 * @throws {RangeError} If `timeoutMs` is negative or not finite.
 *
 * @example An accept loop that never waits on a handshake
 * ```ts ignore
 * import { tlsAcceptAsync, tlsListen } from "@quartz/std/tls";
 *
 * const listener = tlsListen({ port: 8443, certFile: "cert.pem", keyFile: "key.pem" });
 * for await (const conn of listener) {
 *   tlsAcceptAsync(conn, { timeoutMs: 5000 }).then(async (stream) => {
 *     await using s = stream;
 *     await s.write(new TextEncoder().encode("hello\n"));
 *   }).catch((e) => console.error(e));
 * }
 * ```
 */
export function tlsAcceptAsync(
  conn: Deno.TlsConn,
  options?: TlsAcceptOptions,
): Promise<TlsStream> {
  const timeoutMs = options?.timeoutMs ?? 10_000;
  checkTimeout(timeoutMs);
  const signal = options?.signal;
  if (signal?.aborted) {
    conn.close();
    return Promise.reject(signal.reason);
  }
  pending++;
  return handshake(conn, timeoutMs, signal, () => abandoned++).finally(() =>
    pending--
  );
}

/**
 * Counts, in {@linkcode pendingHandshakeSockets}, a handshake its caller
 * drives itself: a server whose own deadline sweep bounds the handshake
 * (no timer, no abort listener, no {@linkcode TlsStream} per connection),
 * closing the connection and calling {@linkcode noteAbandonedHandshake} when
 * it gives up. Call {@linkcode handshakeSettled} once it settles either way.
 * Not re-exported by mod.ts.
 */
export function handshakeStarted(): void {
  pending++;
}

/** Ends the count {@linkcode handshakeStarted} began. */
export function handshakeSettled(): void {
  pending--;
}

/** Counts a handshake given up by the caller of {@linkcode tlsAcceptUnbounded}. */
export function noteAbandonedHandshake(): void {
  abandoned++;
}

/**
 * Sockets held by handshakes in progress in {@linkcode tlsAcceptAsync}, plus
 * those given up (timeout or cancel) since the process started. On Deno 2.9.6
 * closing a TlsConn whose handshake has not finished does not release the
 * socket until the peer sends a byte or closes, so an abandoned silent client
 * keeps holding a socket that no API can free. A server sheds load when this
 * number grows faster than it can afford.
 *
 * @returns `{ pending, abandoned }`: in-progress handshakes and the running
 * count of abandoned ones (each may still pin a socket).
 *
 * @example Shed when too many handshakes are outstanding
 * ```ts
 * import { pendingHandshakeSockets } from "@quartz/std/tls";
 *
 * const { pending, abandoned } = pendingHandshakeSockets();
 * if (pending + abandoned > 10_000) console.warn("Shedding new connections");
 * ```
 */
export function pendingHandshakeSockets(): {
  pending: number;
  abandoned: number;
} {
  return { pending, abandoned };
}
