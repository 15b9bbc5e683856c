import { closedError, closeQuietly, toTlsError } from "./_map_error.ts";
import { checkTimeout, raceShared, SharedTimer } from "./_deadline.ts";
import { TlsError } from "./errors.ts";

/**
 * Timeout and cancellation of one read or write.
 *
 * @example One timeout and shutdown signal for every read of a session
 * ```ts
 * import { tlsReadAsync, type TlsIoOptions, type TlsStream } from "@quartz/std/tls";
 *
 * const shutdown = new AbortController();
 * // Idle peers get 30 s per read; shutdown.abort() cancels every pending read.
 * const io: TlsIoOptions = { timeoutMs: 30_000, signal: shutdown.signal };
 *
 * async function nextChunk(stream: TlsStream): Promise<Uint8Array | null> {
 *   return await tlsReadAsync(stream, 16 * 1024, io);
 * }
 * ```
 */
export interface TlsIoOptions {
  /**
   * Give up after this many milliseconds with a `TimeoutError` DOMException.
   * A read that gives up loses no bytes; a write that gives up closes the stream.
   *
   * @default {undefined} (no timeout)
   */
  timeoutMs?: number;
  /**
   * Give up when this signal aborts, rejecting with `signal.reason`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

// A read that outlived its caller (timeout or cancel): Deno cannot cancel it,
// so its result goes to the next read instead of being lost.
interface KeptRead {
  promise: Promise<number | null>;
  buf: Uint8Array;
}

/** The most plaintext one TLS record carries (RFC 8446, section 5.1). */
const MAX_RECORD = 16 * 1024;
const SLAB_SIZE = 64 * 1024;

let readChunkImpl: (
  stream: TlsStream,
  max: number,
  options: TlsIoOptions | undefined,
) => Promise<Uint8Array | null>;

/**
 * Reads at most `max` (and at most 16 KiB, one TLS record) bytes. The result
 * is a view into a slab the stream never writes again (it may share its
 * ArrayBuffer with earlier chunks of the same stream). Used by `tlsReadAsync`;
 * not part of the public surface.
 */
export function readChunk(
  stream: TlsStream,
  max: number,
  options: TlsIoOptions | undefined,
): Promise<Uint8Array | null> {
  return readChunkImpl(stream, max, options);
}

let keptRead: (stream: TlsStream) => Promise<unknown> | null;
let writeTimer: (stream: TlsStream) => SharedTimer;

/** The timer the stream's timed writes share (see `SharedTimer`). */
export function writeTimerOf(stream: TlsStream): SharedTimer {
  return writeTimer(stream);
}

/**
 * The read an earlier timed-out or cancelled call left running, if any;
 * `tlsCloseAsync` settles it so no operation outlives the stream.
 */
export function pendingReadOf(stream: TlsStream): Promise<unknown> | null {
  return keptRead(stream);
}

/**
 * A TLS connection whose handshake has completed, made by `tlsAcceptAsync`,
 * `tlsConnectAsync` or `tlsStartAsync`.
 *
 * `read`/`write` are the low-overhead path (no timer, like `Deno.Conn`);
 * `tlsReadAsync`, `tlsWriteAsync` and friends add a timeout or a signal per call.
 * At most one read and one write may be in progress at a time; a second one
 * rejects with a {@linkcode TlsError} of code `busy`.
 *
 * @example Echo one message
 * ```ts ignore
 * import { tlsConnectAsync } from "@quartz/std/tls";
 *
 * await using stream = await tlsConnectAsync({ hostname: "localhost", port: 8443 });
 * await stream.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(1024);
 * const n = await stream.read(buf);
 * ```
 */
export class TlsStream implements AsyncDisposable {
  #conn: Deno.TlsConn;
  #alpn: string | null;
  #closed = false;
  #reading = false;
  #writing = false;
  #kept: KeptRead | null = null;
  #leftover: Uint8Array | null = null;
  #slab: Uint8Array | null = null;
  #slabOff = 0;
  // One timer each for timed reads and writes, made on first use.
  #readTimer: SharedTimer | null = null;
  #writeTimer: SharedTimer | null = null;
  // The slab view the untimed chunk read is filling (see #readChunk).
  #view: Uint8Array | null = null;
  // Settle handlers made once per stream, so an untimed read allocates no
  // closure and runs no async-function frame of its own.
  #onRead = (n: number | null): number | null => {
    this.#reading = false;
    return n;
  };
  #onChunk = (n: number | null): Uint8Array | null => {
    this.#reading = false;
    const view = this.#view!;
    this.#view = null;
    if (n === null) return null;
    // The slab is only replaced meanwhile by a read that failed as busy.
    if (view.buffer === this.#slab?.buffer) this.#slabOff = view.byteOffset + n;
    return n === view.byteLength ? view : view.subarray(0, n);
  };
  #onReadError = (e: unknown): never => {
    this.#reading = false;
    this.#view = null;
    throw toTlsError(e, "data");
  };
  #onWritten = (n: number): number => {
    this.#writing = false;
    return n;
  };
  #onWriteError = (e: unknown): never => {
    this.#writing = false;
    throw toTlsError(e, "data");
  };

  static {
    readChunkImpl = (s, max, o) => s.#readChunk(max, o?.timeoutMs, o?.signal);
    keptRead = (s) => s.#kept?.promise ?? null;
    writeTimer = (s) => s.#writeTimer ??= new SharedTimer();
  }

  /**
   * Wraps a TlsConn whose handshake has completed. Prefer the `tls*Async`
   * functions, which run the handshake with a timeout.
   *
   * @param conn The connection; the stream owns it from now on.
   * @param alpnProtocol The ALPN protocol the handshake agreed on, or null.
   */
  constructor(conn: Deno.TlsConn, alpnProtocol: string | null) {
    this.#conn = conn;
    this.#alpn = alpnProtocol;
  }

  /** The underlying connection (for options this class does not cover). */
  get conn(): Deno.TlsConn {
    return this.#conn;
  }

  /** The ALPN protocol the handshake agreed on, or null if none. */
  get alpnProtocol(): string | null {
    return this.#alpn;
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr;
  }

  /** Our end's address. */
  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr;
  }

  /** Whether the stream was closed; every later operation rejects with code `closed`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads into `buf` like `Deno.Conn.read`. If an earlier read timed out or was
   * cancelled and is still pending, its bytes come first (excess is kept for
   * the next read).
   *
   * @param buf Where the bytes go.
   * @param options Optional timeout and signal; omit them for the fast path.
   * @returns The number of bytes read, or null at a clean end of stream.
   * @throws {TlsError} `closed`, `busy`, `truncated`, `reset`, `protocol`, `io`.
   * @throws {DOMException} `TimeoutError` when `timeoutMs` passes.
   */
  read(buf: Uint8Array, options?: TlsIoOptions): Promise<number | null> {
    if (options === undefined) {
      if (this.#idle() && buf.byteLength !== 0) {
        this.#reading = true;
        return this.#startRead(buf).then(this.#onRead, this.#onReadError);
      }
      return this.#read(buf, false, undefined, undefined);
    }
    checkTimeout(options.timeoutMs);
    return this.#read(buf, false, options.timeoutMs, options.signal);
  }

  async #read(
    buf: Uint8Array,
    owned: boolean,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<number | null> {
    if (signal?.aborted) throw signal.reason;
    if (this.#closed) throw closedError("read");
    if (this.#reading) {
      throw new TlsError(
        "busy",
        "Cannot read: another read is in progress on this TLS stream",
      );
    }
    if (this.#leftover !== null) return this.#takeLeftover(buf);
    if (buf.byteLength === 0) return 0;
    this.#reading = true;
    try {
      const kept = this.#kept;
      if (kept === null && timeoutMs === undefined && signal === undefined) {
        // Hot path: no timer, no closure, bytes land in the caller's buffer.
        return await this.#conn.read(buf);
      }
      let target: Uint8Array;
      let p: Promise<number | null>;
      if (kept !== null) {
        target = kept.buf;
        p = kept.promise;
      } else {
        // A caller's buffer cannot be written after we return, so a read that
        // may be abandoned goes into memory the stream owns.
        target = owned ? buf : new Uint8Array(buf.byteLength);
        p = this.#conn.read(target);
      }
      let n: number | null;
      let expired = false;
      try {
        n = await raceShared(
          p,
          this.#readTimer ??= new SharedTimer(),
          timeoutMs,
          signal,
          "TLS read",
          () => {
            expired = true;
          },
        );
      } catch (e) {
        if (expired) {
          if (kept === null) {
            // Handled later by the next read; the no-op catch only prevents an
            // unhandled-rejection report meanwhile.
            p.catch(() => {});
            this.#kept = { promise: p, buf: target };
          }
          throw e;
        }
        this.#kept = null;
        throw e;
      }
      this.#kept = null;
      if (n === null || target === buf) return n;
      const got = target.subarray(0, n);
      if (n > buf.byteLength) {
        buf.set(got.subarray(0, buf.byteLength));
        this.#leftover = got.subarray(buf.byteLength);
        return buf.byteLength;
      }
      buf.set(got);
      return n;
    } catch (e) {
      throw toTlsError(e, "data", signal);
    } finally {
      this.#reading = false;
    }
  }

  // No read running or kept, nothing left over, not closed: the untimed fast
  // paths may go straight to the connection.
  #idle(): boolean {
    return !this.#reading && this.#kept === null && this.#leftover === null &&
      !this.#closed;
  }

  // A rejected promise rather than a throw, so #reading is always reset.
  #startRead(buf: Uint8Array): Promise<number | null> {
    try {
      return this.#conn.read(buf);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The next `want` bytes of the slab, starting a new slab if they do not fit. */
  #slabView(want: number): Uint8Array {
    let slab = this.#slab;
    if (slab === null || slab.byteLength - this.#slabOff < want) {
      slab = this.#slab = new Uint8Array(SLAB_SIZE);
      this.#slabOff = 0;
    }
    return slab.subarray(this.#slabOff, this.#slabOff + want);
  }

  #readChunk(
    max: number,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array | null> {
    // Deno returns at most one TLS record (16 KiB of plaintext) per read,
    // whatever the buffer size. Chunks are cut from a per-stream slab, packed
    // back to back: one ArrayBuffer per slab instead of one per read.
    const want = max < MAX_RECORD ? max : MAX_RECORD;
    if (timeoutMs === undefined && signal === undefined && this.#idle()) {
      // Hot path: bytes land in the slab, no timer, no async frame.
      const view = this.#view = this.#slabView(want);
      this.#reading = true;
      return this.#startRead(view).then(this.#onChunk, this.#onReadError);
    }
    return this.#readChunkSlow(want, timeoutMs, signal);
  }

  async #readChunkSlow(
    want: number,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array | null> {
    const view = this.#slabView(want);
    const slab = this.#slab;
    let n: number | null;
    try {
      n = await this.#read(view, true, timeoutMs, signal);
    } catch (e) {
      // A kept read still writes into this part of the slab: start a new one.
      if (this.#kept?.buf === view) this.#slab = null;
      throw e;
    }
    if (n === null) return null;
    if (slab === this.#slab) this.#slabOff += n;
    return view.subarray(0, n);
  }

  #takeLeftover(buf: Uint8Array): number {
    const left = this.#leftover!;
    const n = Math.min(left.byteLength, buf.byteLength);
    buf.set(left.subarray(0, n));
    this.#leftover = n === left.byteLength ? null : left.subarray(n);
    return n;
  }

  /**
   * Writes `data` like `Deno.Conn.write`; the write may be partial.
   *
   * @param data The bytes to send.
   * @returns How many bytes were written.
   * @throws {TlsError} `closed`, `busy`, `reset`, `io`.
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError("write"));
    if (this.#writing) {
      return Promise.reject(
        new TlsError(
          "busy",
          "Cannot write: another write is in progress on this TLS stream",
        ),
      );
    }
    this.#writing = true;
    let p: Promise<number>;
    try {
      p = this.#conn.write(data);
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(this.#onWritten, this.#onWriteError);
  }

  /**
   * Sends close_notify (a TLS half-close): the peer sees the end of the stream,
   * and this side can still read.
   *
   * @throws {TlsError} `closed`, `reset`, `io`.
   */
  async closeWrite(): Promise<void> {
    if (this.#closed) throw closedError("close the write side");
    try {
      await this.#conn.closeWrite();
    } catch (e) {
      throw toTlsError(e, "data");
    }
  }

  /** Releases the connection at once, without close_notify. Idempotent, never throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leftover = null;
    this.#readTimer?.[Symbol.dispose]();
    this.#writeTimer?.[Symbol.dispose]();
    closeQuietly(this.#conn);
  }

  /** Closes the stream at once (same as `close()`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    const kept = this.#kept;
    this.#kept = null;
    return kept === null
      ? Promise.resolve()
      : kept.promise.then(() => {}, () => {});
  }
}
