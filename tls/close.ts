import { checkTimeout } from "./_deadline.ts";
import { TlsError } from "./errors.ts";
import { pendingReadOf, type TlsStream } from "./stream.ts";

/**
 * Options of {@linkcode tlsCloseAsync}.
 *
 * @example Closing every stream on shutdown, with a short wait for each peer
 * ```ts
 * import { tlsCloseAsync, type TlsCloseOptions, type TlsStream } from "@quartz/std/tls";
 *
 * const force = new AbortController(); // e.g. aborted on a second Ctrl-C
 * const closing: TlsCloseOptions = { timeoutMs: 200, signal: force.signal };
 *
 * async function closeAll(streams: Iterable<TlsStream>): Promise<void> {
 *   // A forced close rejects with force.signal.reason; the connection is released either way.
 *   await Promise.allSettled([...streams].map((stream) => tlsCloseAsync(stream, closing)));
 * }
 * ```
 */
export interface TlsCloseOptions {
  /**
   * How long to wait for the peer's close_notify (discarding any data that
   * comes first) before releasing the connection anyway. Not an error.
   *
   * @default {1000}
   */
  timeoutMs?: number;
  /**
   * Stop waiting when this aborts: the connection is released and the call
   * rejects with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Closes gracefully: sends close_notify, waits (bounded) for the peer's, then
 * releases the connection. Idempotent: a closed stream resolves at once. The
 * connection is released whatever happens.
 *
 * @param stream The stream to close.
 * @param options How long to wait for the peer, and a signal.
 * @returns When the connection is released.
 * @throws {RangeError} If `timeoutMs` is negative or not finite.
 *
 * @example Close after the last write
 * ```ts ignore
 * import { tlsCloseAsync, tlsConnectAsync } from "@quartz/std/tls";
 *
 * const stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * await stream.write(new TextEncoder().encode("bye"));
 * await tlsCloseAsync(stream, { timeoutMs: 500 });
 * ```
 */
export function tlsCloseAsync(
  stream: TlsStream,
  options?: TlsCloseOptions,
): Promise<void> {
  checkTimeout(options?.timeoutMs);
  return closeGracefully(stream, options?.timeoutMs ?? 1000, options?.signal);
}

async function closeGracefully(
  stream: TlsStream,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (stream.closed) return;
  if (signal?.aborted) {
    await release(stream);
    throw signal.reason;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => stream.close();
  signal?.addEventListener("abort", onAbort, { once: true });
  // The timer only closes the connection, which ends the wait below.
  timer = setTimeout(() => {
    timer = undefined;
    stream.close();
  }, timeoutMs);
  try {
    await stream.closeWrite();
    const buf = new Uint8Array(16 * 1024);
    while (!stream.closed && await stream.read(buf) !== null) {
      // Data the peer sent before its close_notify: nobody will read it.
    }
  } catch (e) {
    // Our close() (timer or signal) ends the wait with a closed error; a peer
    // that is gone (reset, truncation) or a read the caller still runs (busy)
    // leaves nothing to wait for: releasing is all that is left to do.
    if (!stream.closed && !endsWait(e)) throw e;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    await release(stream);
  }
  if (signal?.aborted) throw signal.reason;
}

function endsWait(e: unknown): boolean {
  return e instanceof TlsError &&
    (e.code === "reset" || e.code === "truncated" || e.code === "protocol" ||
      e.code === "busy");
}

async function release(stream: TlsStream): Promise<void> {
  const kept = pendingReadOf(stream);
  stream.close();
  if (kept !== null) await kept.catch(() => {});
}
