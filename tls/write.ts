import { checkTimeout, raceShared } from "./_deadline.ts";
import { closedError } from "./_map_error.ts";
import { type TlsIoOptions, type TlsStream, writeTimerOf } from "./stream.ts";

// A write cannot be cancelled and may have sent part of the data, so giving up
// on one closes the stream: the peer must not see a cut record followed by more.
async function bounded<T>(
  stream: TlsStream,
  run: () => Promise<T>,
  options: TlsIoOptions | undefined,
): Promise<T> {
  const timeoutMs = options?.timeoutMs;
  const signal = options?.signal;
  if (signal?.aborted) throw signal.reason;
  if (timeoutMs === undefined && signal === undefined) return await run();
  if (stream.closed) throw closedError("write");
  const p = run();
  try {
    return await raceShared(
      p,
      writeTimerOf(stream),
      timeoutMs,
      signal,
      "TLS write",
      () => stream.close(),
    );
  } catch (e) {
    // After close() the write op settles at once; wait so it does not outlive the call.
    if (stream.closed) await p.catch(() => {});
    throw e;
  }
}

/**
 * Writes `data`; the write may be partial. If it times out or is cancelled the
 * stream is closed (part of the data may have been sent) and later calls
 * reject with a TlsError of code `closed`.
 *
 * @param stream The stream to write to.
 * @param data The bytes.
 * @param options Timeout and signal.
 * @returns How many bytes were written.
 * @throws {TlsError} `closed`, `busy` (another write is running), `reset`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 *
 * @example Write once
 * ```ts ignore
 * import { tlsConnectAsync, tlsWriteAsync } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * const n = await tlsWriteAsync(stream, new TextEncoder().encode("hi"), { timeoutMs: 1000 });
 * ```
 */
export function tlsWriteAsync(
  stream: TlsStream,
  data: Uint8Array,
  options?: TlsIoOptions,
): Promise<number> {
  if (options === undefined) return stream.write(data);
  checkTimeout(options.timeoutMs);
  return bounded(stream, () => stream.write(data), options);
}

// One write usually takes everything: settle then, without an async frame.
function writeAll(stream: TlsStream, data: Uint8Array): Promise<void> {
  if (data.byteLength === 0) return Promise.resolve();
  return stream.write(data).then((n) =>
    n < data.byteLength ? writeRest(stream, data, n) : undefined
  );
}

async function writeRest(
  stream: TlsStream,
  data: Uint8Array,
  off: number,
): Promise<void> {
  while (off < data.byteLength) off += await stream.write(data.subarray(off));
}

/**
 * Writes all of `data`, with one timeout for the whole of it. If it times out
 * or is cancelled the stream is closed and later calls reject with a TlsError
 * of code `closed`.
 *
 * @param stream The stream to write to.
 * @param data The bytes.
 * @param options Timeout and signal.
 * @returns When every byte was handed to the connection.
 * @throws {TlsError} `closed`, `busy`, `reset`.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 *
 * @example Send a file's contents
 * ```ts ignore
 * import { tlsConnectAsync, tlsWriteAllAsync } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * await tlsWriteAllAsync(stream, await Deno.readFile("data.bin"), { timeoutMs: 30_000 });
 * ```
 */
export function tlsWriteAllAsync(
  stream: TlsStream,
  data: Uint8Array,
  options?: TlsIoOptions,
): Promise<void> {
  if (options === undefined) return writeAll(stream, data);
  checkTimeout(options.timeoutMs);
  return bounded(stream, () => writeAll(stream, data), options);
}

/**
 * {@linkcode tlsWriteAsync} with a positional timeout.
 *
 * @param stream The stream to write to.
 * @param data The bytes.
 * @param timeoutMs Close the stream and reject with a `TimeoutError` after this many milliseconds.
 * @param options A signal.
 * @returns How many bytes were written.
 * @throws {TlsError} As {@linkcode tlsWriteAsync}.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 *
 * @example Write with a deadline
 * ```ts ignore
 * import { tlsConnectAsync, tlsWriteAsyncTimeout } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * await tlsWriteAsyncTimeout(stream, new Uint8Array(10), 1000);
 * ```
 */
export function tlsWriteAsyncTimeout(
  stream: TlsStream,
  data: Uint8Array,
  timeoutMs: number,
  options?: Pick<TlsIoOptions, "signal">,
): Promise<number> {
  const o: TlsIoOptions = { timeoutMs };
  if (options?.signal !== undefined) o.signal = options.signal;
  return tlsWriteAsync(stream, data, o);
}

/**
 * {@linkcode tlsWriteAllAsync} with a positional timeout.
 *
 * @param stream The stream to write to.
 * @param data The bytes.
 * @param timeoutMs Close the stream and reject with a `TimeoutError` after this many milliseconds.
 * @param options A signal.
 * @returns When every byte was handed to the connection.
 * @throws {TlsError} As {@linkcode tlsWriteAllAsync}.
 * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
 *
 * @example Write everything with a deadline
 * ```ts ignore
 * import { tlsConnectAsync, tlsWriteAllAsyncTimeout } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * await tlsWriteAllAsyncTimeout(stream, new Uint8Array(1 << 20), 5000);
 * ```
 */
export function tlsWriteAllAsyncTimeout(
  stream: TlsStream,
  data: Uint8Array,
  timeoutMs: number,
  options?: Pick<TlsIoOptions, "signal">,
): Promise<void> {
  const o: TlsIoOptions = { timeoutMs };
  if (options?.signal !== undefined) o.signal = options.signal;
  return tlsWriteAllAsync(stream, data, o);
}
