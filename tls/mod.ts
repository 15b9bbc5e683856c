/**
 * TLS with timeouts and cancellation on top of Deno's own handshake
 * (`Deno.listenTls`, `Deno.connectTls`, `Deno.startTls`).
 *
 * - Timeouts reject with a `TimeoutError` DOMException, cancels with `signal.reason`;
 *   an already-aborted signal rejects before any I/O.
 * - A read that times out or is cancelled loses no bytes: the next read gets them.
 * - A write that times out or is cancelled closes the stream (part of the data may
 *   have gone out); later calls reject with a {@linkcode TlsError} of code `closed`.
 * - Failures are {@linkcode TlsError}s whose `code` says what happened.
 *
 * @example An echo server and a client
 * ```ts ignore
 * import {
 *   tlsAcceptAsync, tlsCloseAsync, tlsConnectAsync, tlsListen, tlsReadAsync, tlsWriteAllAsync,
 * } from "@quartz/std/tls";
 *
 * const cert = await Deno.readTextFile("cert.pem");
 * const key = await Deno.readTextFile("key.pem");
 * const listener = tlsListen({ hostname: "127.0.0.1", port: 8443, cert, key });
 * (async () => {
 *   for await (const conn of listener) {
 *     // Never await a handshake in the accept loop.
 *     tlsAcceptAsync(conn, { timeoutMs: 5000 }).then(async (stream) => {
 *       let chunk;
 *       while ((chunk = await tlsReadAsync(stream, 16384, { timeoutMs: 30_000 })) !== null) {
 *         await tlsWriteAllAsync(stream, chunk, { timeoutMs: 30_000 });
 *       }
 *       await tlsCloseAsync(stream);
 *     }).catch((e) => console.error(e));
 *   }
 * })();
 *
 * const stream = await tlsConnectAsync({ hostname: "localhost", port: 8443, timeoutMs: 5000 });
 * await tlsWriteAllAsync(stream, new TextEncoder().encode("ping"));
 * console.log(await tlsReadAsync(stream, 4, { timeoutMs: 1000 }));
 * await tlsCloseAsync(stream);
 * listener.close();
 * ```
 *
 * @module
 */
export { TlsError, type TlsErrorCode, type TlsErrorOptions } from "./errors.ts";
export { type TlsIoOptions, TlsStream } from "./stream.ts";
export { tlsListen, type TlsListenOptions } from "./listen.ts";
export {
  pendingHandshakeSockets,
  tlsAcceptAsync,
  type TlsAcceptOptions,
} from "./accept.ts";
export { tlsConnectAsync, type TlsConnectOptions } from "./connect.ts";
export { tlsStartAsync, type TlsStartOptions } from "./start.ts";
export {
  tlsReadAsync,
  tlsReadAsyncTimeout,
  type TlsReadOptions,
} from "./read.ts";
export {
  tlsWriteAllAsync,
  tlsWriteAllAsyncTimeout,
  tlsWriteAsync,
  tlsWriteAsyncTimeout,
} from "./write.ts";
export { tlsCloseAsync, type TlsCloseOptions } from "./close.ts";
