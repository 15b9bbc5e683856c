import { checkTimeout } from "./_deadline.ts";
import { readChunk, type TlsIoOptions, type TlsStream } from "./stream.ts";

/**
 * Options of {@linkcode tlsReadAsync}.
 *
 * @example Counting a download's bytes through one reused buffer
 * ```ts
 * import { tlsReadAsync, type TlsReadOptions, type TlsStream } from "@quartz/std/tls";
 *
 * async function countBytes(stream: TlsStream): Promise<number> {
 *   const options: TlsReadOptions = { buffer: new Uint8Array(64 * 1024), timeoutMs: 30_000 };
 *   let total = 0;
 *   for (let chunk; (chunk = await tlsReadAsync(stream, 64 * 1024, options)) !== null;) {
 *     total += chunk.byteLength; // chunk is a view of options.buffer: use it before the next read
 *   }
 *   return total;
 * }
 * ```
 */
export interface TlsReadOptions extends TlsIoOptions {
  /**
   * Read into this buffer instead of fresh memory, and return a view of it
   * (at most `min(max, buffer.byteLength)` bytes). The view is only valid
   * until the buffer is reused: this is the bulk-throughput path (fresh
   * memory per read costs about a tenth of raw TLS throughput).
   *
   * @default {undefined} (every chunk is fresh memory the caller may keep)
   */
  buffer?: Uint8Array;
}

function checkMax(max: number): void {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(
      `Cannot read with max ${max}: it must be an integer >= 1`,
    );
  }
}

/**
 * Reads at most `max` bytes. A read that times out or is cancelled loses no
 * bytes: the stream stays usable and the next read returns what arrived
 * meanwhile, in order.
 *
 * At most one TLS record (16 KiB) comes back per call. Chunks are views into a
 * slab the stream fills back to back and never rewrites, so they may share an
 * ArrayBuffer with earlier chunks of the same stream; `slice()` a small chunk
 * you keep for long. Fresh memory for every read costs about a tenth of raw
 * bulk throughput; `stream.read(buf)` into a buffer you reuse does not.
 *
 * @param stream The stream to read from.
 * @param max The most bytes to return.
 * @param options Timeout, signal, and an optional `buffer` to read into.
 * @returns The bytes read, or null at a clean end of stream (close_notify).
 * @throws {TlsError} `closed`, `busy` (another read is running), `truncated`, `reset`, `protocol`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 * @throws {RangeError} If `max` is not an integer >= 1, `buffer` is empty, or `timeoutMs` is invalid.
 *
 * @example Read one chunk, giving up after a second
 * ```ts ignore
 * import { tlsConnectAsync, tlsReadAsync } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * const chunk = await tlsReadAsync(stream, 16 * 1024, { timeoutMs: 1000 });
 * ```
 *
 * @example Bulk reads into one reused buffer
 * ```ts ignore
 * import { tlsConnectAsync, tlsReadAsync } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * const buffer = new Uint8Array(64 * 1024);
 * let total = 0;
 * for (let c; (c = await tlsReadAsync(stream, buffer.length, { buffer })) !== null;) {
 *   total += c.byteLength; // c is a view of buffer: use it before the next read
 * }
 * ```
 */
export function tlsReadAsync(
  stream: TlsStream,
  max: number,
  options?: TlsReadOptions,
): Promise<Uint8Array | null> {
  checkMax(max);
  checkTimeout(options?.timeoutMs);
  const buffer = options?.buffer;
  if (buffer === undefined) return readChunk(stream, max, options);
  if (buffer.byteLength === 0) {
    throw new RangeError("Cannot read into an empty buffer: byteLength is 0");
  }
  const view = max < buffer.byteLength ? buffer.subarray(0, max) : buffer;
  return stream.read(view, options).then((n) =>
    n === null ? null : view.subarray(0, n)
  );
}

/**
 * {@linkcode tlsReadAsync} with a positional timeout.
 *
 * @param stream The stream to read from.
 * @param max The most bytes to return.
 * @param timeoutMs Reject with a `TimeoutError` DOMException after this many milliseconds.
 * @param options A signal.
 * @returns The bytes read, or null at a clean end of stream.
 * @throws {TlsError} As {@linkcode tlsReadAsync}.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 * @throws {RangeError} If `max` or `timeoutMs` is invalid.
 *
 * @example Poll for data
 * ```ts ignore
 * import { tlsConnectAsync, tlsReadAsyncTimeout } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * try {
 *   await tlsReadAsyncTimeout(stream, 4096, 100);
 * } catch (e) {
 *   if (!(e instanceof DOMException && e.name === "TimeoutError")) throw e;
 *   // Nothing yet; the bytes will come with the next read.
 * }
 * ```
 */
export function tlsReadAsyncTimeout(
  stream: TlsStream,
  max: number,
  timeoutMs: number,
  options?: Pick<TlsIoOptions, "signal">,
): Promise<Uint8Array | null> {
  const o: TlsIoOptions = { timeoutMs };
  if (options?.signal !== undefined) o.signal = options.signal;
  return tlsReadAsync(stream, max, o);
}
