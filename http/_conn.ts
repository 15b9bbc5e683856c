// One HTTP/1.1 connection: read a head, run the handler, write the response,
// repeat. One receive buffer, parsed in place; one moving deadline.

import { parseRequestHead, type RequestHead } from "./_parser.ts";
import { HttpError } from "./errors.ts";
import { RequestBody } from "./_body.ts";
import type { ServerConfig } from "./_config.ts";
import type { Expirable } from "./_deadlines.ts";
import {
  allowResponseBytes,
  CONTINUE_BYTES,
  errorResponseBytes,
  fastBodyBytes,
  fastResponseBytes,
  whole,
  wholeResponseBytes,
  writeResponse,
} from "./_response.ts";
import type { HttpTimeoutKind } from "./options.ts";
import {
  DEFAULT_ALLOW,
  Info,
  isPeerError,
  requestLineOf,
  type Transport,
} from "./_conn_parts.ts";
import type { ServerState } from "./_state.ts";
import type { Admission, ShedDecision } from "./load_shed_types.ts";
import { serviceUnavailableResponse } from "./service_unavailable.ts";
import { makeRequest } from "./_fast_request.ts";
import {
  handshakeSettled,
  handshakeStarted,
  noteAbandonedHandshake,
} from "../tls/accept.ts";

const NO_HEADERS: readonly string[] = [];

const KEEP_ALIVE = { keepAlive: true } as const;
const CLOSE = { keepAlive: false } as const;

const RESOLVED: Promise<void> = Promise.resolve();

/** TLS plaintext per record (rustls, Deno 2.9). */
const TLS_RECORD = 16_384;
/** A last record smaller than this is avoided (a few TCP segments). */
const SMALL_RECORD = 4_096;

/** Pipelined responses held back for one write, at most (bytes). */
const BATCH_BYTES = 65_536;

/** An exchange whose response waits in the batch. */
interface Held {
  head: RequestHead;
  time: number;
  status: number;
  /** Body bytes of its response. */
  bytes: number;
  info: Info | null;
  startedAt: number;
}

/** How long a handler runs before the connection watches for EOF. */
const WATCH_PEER_MS = 1000;

/**
 * Receive and write buffers of finished connections, reused by new ones:
 * allocating (and zeroing) them per connection showed in the garbage
 * collector's share of a Connection: close exchange. Only buffers with no
 * read or write in flight come back; at most POOL_MAX of each are kept.
 */
const READ_BYTES = 4096;
const WRITE_BYTES = 1024;
const POOL_MAX = 256;
const readPool: Uint8Array[] = [];
const writePool: Uint8Array[] = [];
const EMPTY = new Uint8Array(0);

/**
 * A receive buffer for a new connection: most heads fit in 4 KiB; a larger
 * one grows the buffer (see #tryHead).
 */
export function takeReadBuffer(): Uint8Array {
  return readPool.pop() ?? new Uint8Array(READ_BYTES);
}

/** #tryHead(): more bytes are needed; the head was refused. */
const MORE: unique symbol = Symbol("more");
const REJECT: unique symbol = Symbol("reject");
/** #exchange(): run() writes the response bytes it left. */
const WRITE: unique symbol = Symbol("write");

/** Thrown into #call when the connection stops waiting for the handler. */
const ABANDONED: unique symbol = Symbol("abandoned");

type Phase = "idle" | "head" | "active" | "closing";

/** Serves the requests of one connection until it closes. */
export class Connection implements Expirable {
  deadline = Infinity;
  wheelPrev: Expirable | null = null;
  wheelNext: Expirable | null = null;
  onWheel = false;
  kind: HttpTimeoutKind | "linger" | "watch" = "header";
  buf: Uint8Array;
  start = 0;
  end = 0;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  /** Known once the TLS handshake is done; null for TCP. */
  alpnProtocol: string | null = null;
  phase: Phase = "idle";
  requests = 0;

  #t: Transport;
  #handshakeMs: number | null;
  /** Why #tryHead() refused the head. */
  #headError: unknown = null;
  /** The handshake deadline passed (see expire()). */
  #handshakeExpired = false;
  #cfg: ServerConfig;
  #state: ServerState;
  #scheme: string;
  #pending: Promise<number | null> | null = null;
  #closed = false;
  #transportClosed = false;
  #peerGone = false;
  #info: Info | null = null;
  #responseStarted = false;
  #continuePending = false;
  #body: RequestBody | null = null;
  /** Stops waiting for the running handler (client gone, connection closed). */
  #abandon: ((reason: unknown) => void) | null = null;
  /** Why the connection was closed under a reading handler. */
  #closeReason: unknown = null;
  /** The last request asked to close (Connection: close, HTTP/1.0). */
  #clientClosing = false;
  /** The load shedder's slot of the running request. */
  #slot: Admission | null = null;
  /** When the running request was handed to the handler (performance.now). */
  #startedAt = -1;
  /** A status expire() sent in place of the handler's response (408). */
  #sentStatus = 0;

  /**
   * @param raw The accepted socket: a TlsConn whose handshake `run()`
   * drives when `handshakeMs` is a number, else a TCP connection.
   */
  constructor(
    raw: Deno.Conn,
    state: ServerState,
    handshakeMs: number | null,
  ) {
    this.#t = raw;
    this.#state = state;
    this.#cfg = state.cfg;
    this.remoteAddr = raw.remoteAddr as Deno.NetAddr;
    this.localAddr = raw.localAddr as Deno.NetAddr;
    this.#handshakeMs = handshakeMs;
    this.#scheme = handshakeMs !== null ? "https://" : "http://";
    this.buf = takeReadBuffer();
  }

  /** Responses are held back or being written: not idle, whatever phase. */
  get writing(): boolean {
    return this.#batchLen > 0 || this.#flushing !== null;
  }

  /** Closes the transport at once; pending reads and writes fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // No reason is built here: a DOMException captures a stack trace, which
    // was 6% of the JavaScript time of a Connection: close exchange.
    this.deadline = Infinity;
    this.phase = "closing";
    const info = this.#info;
    if (info !== null) {
      info.abort(new DOMException("Connection closed", "AbortError"));
      // A response still being written will not arrive whole.
      info.finish(false);
    }
    this.#abandon?.(ABANDONED);
    this.#closeTransport();
  }

  /**
   * The connection may close without lingering: the client asked to close
   * and nothing it sent is left unread, neither buffered bytes nor the rest of
   * a request body (closing on unread data sends a reset, which can destroy
   * the response before the client reads it, RFC 9112 §9.6), and no held
   * responses wait.
   */
  #closesAtOnce(): boolean {
    const body = this.#body;
    return this.#clientClosing && this.start === this.end &&
      this.#batchLen === 0 && (body === null || body.done);
  }

  /** Closes the socket once (close() may follow for the bookkeeping). */
  #closeTransport(): void {
    if (this.#transportClosed) return;
    this.#transportClosed = true;
    try {
      this.#t.close();
    } catch (error) {
      // Already closed by the peer or the TLS layer: nothing left to release.
      if (!isPeerError(error)) throw error;
    }
  }

  /** Aborts the current handler's signal (shutdown's grace is over). */
  abortRequest(reason: unknown): void {
    this.#info?.abort(reason);
  }

  expire(): void {
    const kind = this.kind;
    if (kind === "handshake") {
      // A silent client: closing may not free the socket at once (Deno
      // 2.9.6 keeps it until the peer sends or closes), so it is counted.
      this.#handshakeExpired = true;
      noteAbandonedHandshake();
      this.close();
      return;
    }
    if (kind === "watch") {
      // A handler still running after a while: watch for the client leaving.
      this.watchPeer();
      return;
    }
    this.#closeReason = kind === "body"
      ? new HttpError(408, "request_timeout", "Request body timed out")
      : new DOMException(
        `The ${kind} deadline closed the connection`,
        "TimeoutError",
      );
    if (kind !== "linger") {
      this.#state.timeout(kind);
      const canAnswer = !this.#responseStarted &&
        ((kind === "header" && this.end > this.start) ||
          (kind === "body" && this.phase === "active"));
      if (canAnswer) {
        this.#responseStarted = true;
        const bytes = errorResponseBytes(408);
        this.#info?.abort(
          new DOMException("Request timed out", "TimeoutError"),
        );
        if (kind === "header") this.#logRejected(408, 0);
        else this.#sentStatus = 408;
        // Best effort: the client that timed out may not read it either.
        this.#t.write(bytes).then((n) => {
          this.#cfg.metrics.addBytesOut(n);
          this.close();
        }, () => this.close());
        return;
      }
    }
    this.#info?.abort(this.#closeReason);
    this.close();
  }

  #setDeadline(
    kind: HttpTimeoutKind | "linger" | "watch",
    ms: number,
  ): void {
    this.kind = kind;
    this.deadline = this.#state.clock.now + ms;
  }

  /** Reads into buf[end..]; returns the count or null at EOF. */
  async #read(): Promise<number | null> {
    // Held-back responses go out before waiting for the client.
    if (this.#batchLen > 0) await this.#flushBatch();
    const pending = this.#pending;
    this.#pending = null;
    const n = await (pending ??
      this.#t.read(
        this.end === 0 ? this.buf : this.buf.subarray(this.end),
      ));
    if (n !== null) {
      this.end += n;
      this.#cfg.metrics.addBytesIn(n);
    }
    return n;
  }

  /** Starts the next read while the handler runs, to see the peer leave. */
  watchPeer(): void {
    if (this.phase !== "active") return;
    if (this.#body !== null && !this.#body.done) return;
    if (this.#pending !== null || this.end === this.buf.length) return;
    if (this.start === this.end) this.start = this.end = 0;
    const p = this.#t.read(this.buf.subarray(this.end));
    this.#pending = p;
    p.then((n) => {
      if (n === null) this.#onPeerGone();
    }, () => this.#onPeerGone());
  }

  #onPeerGone(): void {
    this.#peerGone = true;
    this.#info?.abort(new DOMException("Client went away", "AbortError"));
    this.#abandon?.(ABANDONED);
  }

  #wbuf: Uint8Array | null = null;
  /** A handler's body read is in flight (it may outlive run()). */
  #bodyReading = false;

  scratch(size: number): Uint8Array {
    if (size > 16_384) return new Uint8Array(size);
    const wbuf = this.#wbuf;
    if (wbuf !== null && wbuf.length >= size) return wbuf;
    // Sized to need: most responses fit in 1 KiB, and zeroing 16 KiB per
    // connection showed up in Connection: close profiles.
    if (wbuf === null && size <= WRITE_BYTES) {
      return this.#wbuf = writePool.pop() ?? new Uint8Array(WRITE_BYTES);
    }
    let len = WRITE_BYTES;
    while (len < size) len *= 2;
    return this.#wbuf = new Uint8Array(len);
  }

  writeAll(data: Uint8Array, whole = false): Promise<void> {
    this.#responseStarted = true;
    if (
      whole && this.start < this.end && !this.#closed &&
      this.#sentStatus === 0 && this.#batchLen + data.length <= BATCH_BYTES
    ) {
      // A whole response with more of the client's bytes here already
      // (pipelined): held back to go out with its neighbours; #end() hands
      // the exchange to the batch.
      this.#holdBytes(data);
      this.#heldExchange = true;
      return RESOLVED;
    }
    if (this.#batchLen > 0) {
      // Pipelined responses held back go first: in the same write when
      // this fits.
      if (this.#batchLen + data.length <= BATCH_BYTES) {
        this.#holdBytes(data);
        return this.#flushBatch().then((written) => {
          if (!written) {
            throw new Deno.errors.BrokenPipe(
              "The connection closed before the response was written",
            );
          }
        });
      }
      this.#flushBatch();
    }
    const flushing = this.#flushing;
    if (flushing !== null) return flushing.then(() => this.#writeNow(data));
    return this.#writeNow(data);
  }

  #writeNow(data: Uint8Array): Promise<void> {
    const kind = this.kind;
    const deadline = this.deadline;
    this.#setDeadline("write", this.#cfg.writeTimeoutMs);
    // Most writes complete in one call: no async frame for those.
    return this.#write(data).then((n) =>
      n === data.length
        ? this.#written(n, kind, deadline)
        : this.#writeRest(data, n, kind, deadline)
    );
  }

  /**
   * One write through the transport. Over TLS, a write whose last record
   * would be a few bytes after full ones is cut in three (full records, then
   * the rest in two halves), so that no record is tiny: a tiny last record
   * is a small TCP segment that Nagle holds until the client's delayed ACK.
   * Measured on a 1500-byte MTU, one connection: a 33-65 KB response went
   * from 460-1250 to 2200-2800 responses/s.
   */
  #write(data: Uint8Array): Promise<number> {
    const r = data.length % TLS_RECORD;
    if (
      this.#handshakeMs === null || data.length <= TLS_RECORD || r === 0 ||
      r >= SMALL_RECORD
    ) return this.#t.write(data);
    return this.#writeCut(data, r);
  }

  async #writeCut(data: Uint8Array, r: number): Promise<number> {
    const cut1 = data.length - TLS_RECORD - r;
    const cut2 = cut1 + ((TLS_RECORD + r) >> 1);
    let off = 0;
    for (const end of [cut1, cut2, data.length]) {
      while (off < end) off += await this.#t.write(data.subarray(off, end));
    }
    return off;
  }

  async #writeRest(
    data: Uint8Array,
    off: number,
    kind: Connection["kind"],
    deadline: number,
  ): Promise<void> {
    while (off < data.length) off += await this.#t.write(data.subarray(off));
    this.#written(off, kind, deadline);
  }

  #written(n: number, kind: Connection["kind"], deadline: number): void {
    this.#cfg.metrics.addBytesOut(n);
    this.kind = kind;
    this.deadline = deadline;
  }

  readBody(): Promise<number | null> {
    if (this.#closed) {
      // A handler still reading after the connection ended: its buffer may
      // serve another connection by now.
      return Promise.reject(
        this.#closeReason ??
          new DOMException("Connection closed", "AbortError"),
      );
    }
    this.#setDeadline("body", this.#cfg.bodyTimeoutMs);
    this.#bodyReading = true;
    return this.#read().then((n) => {
      this.#bodyReading = false;
      this.deadline = Infinity;
      return n;
    }, (error) => {
      this.#bodyReading = false;
      this.deadline = Infinity;
      // The handler sees why the body ended, not the cancelled read.
      if (this.#closed) {
        throw this.#closeReason ??
          new DOMException("Connection closed", "AbortError");
      }
      throw error;
    });
  }

  async sendContinue(): Promise<void> {
    if (!this.#continuePending) return;
    this.#continuePending = false;
    await this.writeAll(CONTINUE_BYTES);
    this.#responseStarted = false;
  }

  /**
   * Runs the connection to its end: the TLS handshake (the first read starts
   * with it), then requests until one side closes; or, with `shedRetry` >= 0,
   * a 503 after the handshake. Never throws for what the peer does. One
   * async frame for all of it: each frame made per connection showed in the
   * garbage collector's share of a Connection: close exchange.
   */
  async run(shedRetry: number): Promise<void> {
    const state = this.#state;
    state.clock.add(this);
    let opened = false;
    try {
      if (this.#handshakeMs !== null) {
        this.kind = "handshake";
        this.deadline = state.clock.now + this.#handshakeMs;
        const tls = this.#t as Deno.TlsConn;
        handshakeStarted();
        const hs = tls.handshake();
        // The first read starts with the handshake (a read drives it too),
        // so a request sent right behind the client's Finished is ready when
        // the handshake is: one turn of the event loop less per connection.
        const first = this.#pending = tls.read(this.buf);
        try {
          this.alpnProtocol = (await hs).alpnProtocol;
        } catch {
          // The read fails with the handshake; it stays pending, so its
          // buffer is not reused.
          first.catch(() => {});
          if (this.#handshakeExpired) state.timeout("handshake");
          else if (this.#closed) noteAbandonedHandshake();
          else state.handshakeFailures++;
          return;
        } finally {
          handshakeSettled();
        }
        this.deadline = Infinity;
      } else (this.#t as Deno.TcpConn).setNoDelay(true);
      if (shedRetry >= 0) return await this.#shed(shedRetry);
      state.connectionOpen(this);
      opened = true;
      for (;;) {
        // The next head, read here rather than in a method of its own: one
        // async frame less per request.
        if (!this.#beginHead()) return;
        let head = this.#tryHead();
        while (head === MORE) {
          if (this.#batchLen > 0) {
            // Held-back responses go out before waiting for the client.
            await this.#flushBatch();
            if (this.#closed) return;
            // A shutdown began meanwhile: nothing of a next request is here.
            if (this.#state.draining && this.start === this.end) return;
          }
          const pending = this.#pending;
          this.#pending = null;
          let n: number | null;
          try {
            n = await (pending ??
              this.#t.read(
                this.end === 0 ? this.buf : this.buf.subarray(this.end),
              ));
          } catch (error) {
            if (this.#closed || isPeerError(error)) return;
            throw error;
          }
          if (n === null) return;
          this.#gotHeadBytes(n);
          head = this.#tryHead();
        }
        if (head === REJECT) return await this.#reject(this.#headError);
        const result = this.#exchange(head);
        let keepAlive: boolean;
        if (result === WRITE) {
          // writeAll() in place: no promise or closure of its own.
          const bytes = this.#out!;
          this.#out = null;
          if (this.#flushing !== null) await this.#flushing;
          if (this.#closed) {
            keepAlive = this.#wrote(false);
            break;
          }
          if (this.#outKeepAlive && this.start < this.end) {
            // Pipelined: the next request is here already. Its response
            // joins this one in one write: a second small write would wait
            // for the client's delayed ACK (Nagle, ~40 ms).
            if (this.#batchLen + bytes.length <= BATCH_BYTES) {
              this.#hold(bytes);
              continue;
            }
          }
          if (this.#batchLen > 0) {
            // The last of a pipelined run: all of it in one write.
            const keep = this.#outKeepAlive;
            if (this.#batchLen + bytes.length <= BATCH_BYTES) {
              this.#hold(bytes);
              await this.#flushBatch();
              if (!keep || this.#closed || this.#peerGone) break;
              continue;
            }
            await this.#flushBatch();
            if (this.#closed) {
              keepAlive = this.#wrote(false);
              break;
            }
          }
          this.#responseStarted = true;
          this.#setDeadline("write", this.#cfg.writeTimeoutMs);
          let complete = false;
          try {
            let off = await this.#write(bytes);
            while (off < bytes.length) {
              off += await this.#t.write(bytes.subarray(off));
            }
            this.#cfg.metrics.addBytesOut(off);
            complete = true;
          } catch (error) {
            this.#noteWriteError(error);
          }
          this.deadline = Infinity;
          // The client asked to close and sent nothing more: the socket
          // closes before the bookkeeping (metrics, log, buffers), so the
          // client sees the end of its response sooner.
          if (complete && !this.#outKeepAlive && this.#closesAtOnce()) {
            this.#closeTransport();
          }
          keepAlive = this.#wrote(complete);
        } else {
          // Unless its whole response joined the batch already, the exchange
          // waits (for the handler, a slot, a stream): what is held goes now.
          if (this.#batchLen > 0 && !this.#heldExchange) this.#flushBatch();
          keepAlive = result instanceof Promise ? await result : result;
        }
        if (!keepAlive || this.#closed) break;
      }
      // What is held back goes out before the close.
      if (this.#batchLen > 0) await this.#flushBatch();
      // The client asked for the close and sent nothing more (no bytes and
      // no rest of a body): no lingering, and no half-close either. Closing
      // sends TLS close_notify and FIN, and with nothing unread the kernel
      // sends no RST, so the client reads the whole response; an awaited
      // closeWrite() first cost a round trip through the event loop per
      // connection. Otherwise: half-close, drain, then close.
      if (!this.#closesAtOnce()) await this.#lingerClose();
    } catch (error) {
      if (!this.#closed && !isPeerError(error)) state.reportError(error);
    } finally {
      this.close();
      // Responses held back when an unexpected error ended the loop.
      if (this.#batchLen > 0) {
        this.#batchLen = 0;
        this.#endHeld(this.#batched, false);
        this.#batched = null;
      }
      // A slot still held after an unexpected error goes back here.
      this.#slot?.release();
      this.#slot = null;
      // A read started before the close settles now; its failure is expected.
      this.#pending?.catch(() => {});
      this.#releaseBuffers();
      state.clock.delete(this);
      if (opened) state.connectionClose(this);
    }
  }

  /**
   * Gives the buffers back to the pools once nothing can touch them: no read
   * in flight (its bytes could land later) and no write (run() has awaited
   * every write it started). A handler still running sees an empty buffer.
   */
  #releaseBuffers(): void {
    if (this.#pending === null && !this.#bodyReading) {
      const buf = this.buf;
      this.buf = EMPTY;
      this.start = this.end = 0;
      if (buf.length === READ_BYTES && readPool.length < POOL_MAX) {
        readPool.push(buf);
      }
    }
    const wbuf = this.#wbuf;
    this.#wbuf = null;
    if (
      wbuf !== null && wbuf.length === WRITE_BYTES &&
      writePool.length < POOL_MAX
    ) writePool.push(wbuf);
  }

  /** Answers a connection shed by `maxConnections` with a 503 (run closes). */
  async #shed(retryAfterSeconds: number): Promise<void> {
    this.phase = "closing";
    await this.writeAll(serviceUnavailableResponse(retryAfterSeconds));
    this.#logRejected(503, 0);
    await this.#lingerClose();
  }

  /** Counts and logs a response the engine sent without a parsed request. */
  #logRejected(status: number, durationMs: number): void {
    const state = this.#state;
    state.served++;
    state.cfg.metrics.requestRejected(status);
    if (!state.recording) return;
    state.responseEnd({
      remoteAddr: this.remoteAddr,
      time: Date.now(),
      method: null,
      target: null,
      protocol: null,
      requestLine: requestLineOf(this.buf, this.start, this.end),
      headers: NO_HEADERS,
      status,
      bytesSent: 0,
      durationMs,
      complete: true,
    });
  }

  /**
   * Starts waiting for the next request head: sets its deadline. False when
   * the connection should end instead (a shutdown, between requests).
   */
  #beginHead(): boolean {
    const cfg = this.#cfg;
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.#state.draining && this.requests > 0) return false;
      this.phase = "idle";
      if (this.requests === 0) {
        this.#setDeadline("header", cfg.headerTimeoutMs);
      } else this.#setDeadline("idle", cfg.keepAliveTimeoutMs);
    } else {
      this.phase = "head";
      this.#setDeadline("header", cfg.headerTimeoutMs);
    }
    return true;
  }

  /**
   * Parses a head from the bytes received so far: the head, MORE when more
   * bytes are needed (room is made for them), or REJECT with the parse error
   * in #headError. Synchronous, so a head that came whole (the common case)
   * costs no async frame.
   */
  #tryHead(): RequestHead | typeof MORE | typeof REJECT {
    if (this.end > this.start) {
      const cfg = this.#cfg;
      let head: RequestHead | null;
      try {
        head = parseRequestHead(this.buf, this.start, this.end, cfg);
      } catch (error) {
        this.#headError = error;
        return REJECT;
      }
      if (head !== null) {
        this.deadline = Infinity;
        return head;
      }
      if (this.end === this.buf.length) {
        if (this.start === 0) {
          // A head larger than the buffer: grow up to the head limit (the
          // parser rejects anything longer before it would not fit).
          const grown = new Uint8Array(
            Math.min(this.buf.length * 4, cfg.maxHeaderBytes + 1024),
          );
          grown.set(this.buf);
          this.buf = grown;
        } else {
          this.buf.copyWithin(0, this.start, this.end);
          this.end -= this.start;
          this.start = 0;
        }
      }
    }
    return MORE;
  }

  /** Counts bytes read while waiting for a head. */
  #gotHeadBytes(n: number): void {
    this.end += n;
    this.#cfg.metrics.addBytesIn(n);
    if (this.phase === "idle") {
      this.phase = "head";
      if (this.kind === "idle") {
        this.#setDeadline("header", this.#cfg.headerTimeoutMs);
      }
    }
  }

  async #reject(error: unknown): Promise<void> {
    if (!(error instanceof HttpError)) throw error;
    this.#state.parseError(error.status, error);
    this.#responseStarted = true;
    try {
      await this.writeAll(errorResponseBytes(error.status));
      this.#logRejected(error.status, 0);
      await this.#lingerClose();
    } catch (writeError) {
      if (!this.#closed && !isPeerError(writeError)) throw writeError;
    }
  }

  /** Half-closes, then drains briefly so the client reads our last response. */
  async #lingerClose(): Promise<void> {
    if (this.#closed) return;
    this.phase = "closing";
    this.#setDeadline("linger", this.#cfg.lingerMs);
    try {
      await this.#t.closeWrite();
      let total = 0;
      for (;;) {
        if (this.end === this.buf.length || this.#pending === null) {
          this.start = this.end = 0;
        }
        const n = await this.#read();
        if (n === null) break;
        total += n;
        if (total > this.#cfg.maxDrainBytes) break;
      }
    } catch (error) {
      if (!this.#closed && !isPeerError(error)) throw error;
    }
  }

  /**
   * Serves one request: whether the connection stays open, at once or as a
   * promise, or WRITE when the response is bytes for run() to write (the
   * common case: a handler that answers at once with a complete body). That
   * case makes no async frame of its own: run()'s loop awaits the write.
   */
  #exchange(head: RequestHead): boolean | Promise<boolean> | typeof WRITE {
    const cfg = this.#cfg;
    const state = this.#state;
    const index = this.requests++;
    state.inFlight++;
    const time = Date.now();
    this.phase = "active";
    this.start += head.headBytes;
    this.#responseStarted = false;
    let keepAlive = head.keepAlive && !state.draining &&
      (cfg.maxRequestsPerConnection === 0 ||
        this.requests < cfg.maxRequestsPerConnection);
    this.#clientClosing = !head.keepAlive;
    // OPTIONS * asks about the server itself: answered here.
    if (head.form === "asterisk") return this.#asterisk(head, time, keepAlive);

    const method = head.method;
    const readable = method !== "GET" && method !== "HEAD";
    let body: RequestBody | null = null;
    let bytes: Uint8Array<ArrayBuffer> | null = null;
    if (head.chunked) {
      body = new RequestBody(this, 0, true, cfg);
    } else if (head.contentLength > 0) {
      const length = head.contentLength;
      if (length <= this.end - this.start) {
        // The whole body came with the head (most API requests): it is the
        // Request's bytes, read at once, and the connection is past it.
        if (readable) bytes = this.buf.slice(this.start, this.start + length);
        this.start += length;
      } else body = new RequestBody(this, length, false, cfg);
    }
    this.#body = body;
    // No 100 once body bytes are here: the client is sending it anyway
    // (RFC 9110 §10.1.1 lets the server omit it then).
    this.#continuePending = head.expectContinue && body !== null &&
      this.end === this.start;
    const info = new Info(this, index);
    this.#info = info;

    let request: Request;
    try {
      request = this.#request(
        head,
        method,
        readable ? body ?? bytes : null,
        info,
      );
    } catch (error) {
      // A Host the URL parser refuses although the grammar allowed it.
      state.inFlight--;
      return this.#reject(
        new HttpError(400, "bad_request", "Invalid request URL", {
          cause: error,
        }),
      ).then(() => false);
    }
    if (cfg.shedder !== null) {
      return this.#admitted(head, time, keepAlive, body, request, info);
    }
    this.#startedAt = performance.now();
    cfg.metrics.requestStarted();
    // No timeout bounds the handler, but after a while a client that left
    // must be noticed (see expire()).
    this.#setDeadline("watch", WATCH_PEER_MS);
    const answer = this.#call(request, info);
    if (
      answer instanceof Response && body === null &&
      !((method === "HEAD" || method === "OPTIONS") &&
        (answer.status === 405 || answer.status === 501))
    ) {
      // Nothing of what #answered() handles applies: no body, no HEAD or
      // OPTIONS fallback, the handler done.
      if (this.kind === "watch") this.deadline = Infinity;
      // A shutdown that began while the handler ran: announce the close.
      if (state.draining) keepAlive = false;
      const isHead = method === "HEAD";
      const fast = fastResponseBytes(
        this,
        answer,
        isHead,
        keepAlive,
        head.versionMinor,
      );
      if (fast !== null) {
        this.#out = fast;
        this.#outHead = head;
        this.#outTime = time;
        this.#outStatus = 200;
        this.#outBytes = fastBodyBytes;
        this.#outKeepAlive = keepAlive;
        return WRITE;
      }
      // Any other status or headers, with no body or a whole one.
      const bytes = wholeResponseBytes(this, answer, {
        head: isHead,
        keepAlive,
        versionMinor: head.versionMinor,
      });
      if (bytes !== null) {
        this.#out = bytes;
        this.#outHead = head;
        this.#outTime = time;
        this.#outStatus = whole.status;
        this.#outBytes = whole.bytes;
        this.#outKeepAlive = whole.keepAlive;
        return WRITE;
      }
    }
    return this.#answered(head, time, keepAlive, body, info, answer);
  }

  /** Bytes #exchange() left for run() to write, and what to record then. */
  #out: Uint8Array | null = null;
  #outHead: RequestHead | null = null;
  #outTime = 0;
  #outStatus = 200;
  #outBytes = 0;
  #outKeepAlive = false;

  /** Ends the exchange whose bytes run() wrote (or failed to write). */
  #wrote(complete: boolean): boolean {
    const head = this.#outHead!;
    this.#outHead = null;
    this.#end(
      head,
      this.#outTime,
      this.#outStatus,
      complete ? this.#outBytes : 0,
      complete,
    );
    this.#info = null;
    return complete && this.#outKeepAlive && !this.#peerGone && !this.#closed;
  }

  /** Pipelined responses held back to go out in one write. */
  #batch: Uint8Array | null = null;
  #batchLen = 0;
  /** The exchanges whose responses are in #batch, in order (made on use). */
  #batched: Held[] | null = null;
  /** The write of a batch in progress: later writes wait for it. */
  #flushing: Promise<boolean> | null = null;
  /** The running exchange's whole response went into the batch. */
  #heldExchange = false;

  /** Holds back the response #exchange() left, ending its exchange later. */
  #hold(bytes: Uint8Array): void {
    this.#holdBytes(bytes);
    (this.#batched ??= []).push({
      head: this.#outHead!,
      time: this.#outTime,
      status: this.#outStatus,
      bytes: this.#outBytes,
      info: this.#info,
      startedAt: this.#startedAt,
    });
    this.#outHead = null;
    this.#info = null;
    this.#startedAt = -1;
  }

  /** Appends a whole response to the batch. */
  #holdBytes(bytes: Uint8Array): void {
    const need = this.#batchLen + bytes.length;
    let batch = this.#batch;
    if (batch === null || batch.length < need) {
      let len = batch === null ? 8_192 : batch.length * 2;
      while (len < need) len *= 2;
      const grown = new Uint8Array(len);
      if (batch !== null) grown.set(batch.subarray(0, this.#batchLen));
      this.#batch = batch = grown;
    }
    batch.set(bytes, this.#batchLen);
    this.#batchLen = need;
  }

  /**
   * Writes the held-back responses in one write, then ends their
   * exchanges; a failed write closes the connection. Resolves to whether
   * it was written; never rejects.
   */
  #flushBatch(): Promise<boolean> {
    const batch = this.#batch!;
    const data = batch.subarray(0, this.#batchLen);
    const held = this.#batched;
    this.#batch = null;
    this.#batchLen = 0;
    this.#batched = null;
    // After a batch still being written, if any.
    const before = this.#flushing;
    const write = before === null
      ? this.#writeNow(data)
      : before.then(() => this.#writeNow(data));
    const done = write.then(() => true, (error) => {
      this.#noteWriteError(error);
      return false;
    }).then((complete) => {
      if (this.#flushing === done) this.#flushing = null;
      // The buffer is free again once its write has settled; one grown for
      // a large run is dropped, so an idle connection keeps 8 KiB at most.
      if (this.#batch === null && batch.length <= 8_192) this.#batch = batch;
      this.#endHeld(held, complete);
      if (!complete) this.close();
      return complete;
    });
    this.#flushing = done;
    return done;
  }

  /** Ends the exchanges of a batch: written whole or not at all. */
  #endHeld(held: Held[] | null, complete: boolean): void {
    if (held === null) return;
    for (const h of held) {
      h.info?.finish(complete);
      this.#record(
        h.head,
        h.time,
        h.status,
        complete ? h.bytes : 0,
        complete,
        h.startedAt,
      );
    }
  }

  /** Answers `OPTIONS *` with the methods the server knows. */
  async #asterisk(
    head: RequestHead,
    time: number,
    keepAlive: boolean,
  ): Promise<boolean> {
    await this.writeAll(
      allowResponseBytes(DEFAULT_ALLOW, keepAlive, head.versionMinor),
    );
    this.#end(head, time, 204, 0, true);
    return keepAlive && !this.#peerGone;
  }

  /** Asks the load shedder for a slot; refused: a 503, else the handler. */
  async #admitted(
    head: RequestHead,
    time: number,
    keepAlive: boolean,
    body: RequestBody | null,
    request: Request,
    info: Info,
  ): Promise<boolean> {
    const shedder = this.#cfg.shedder!;
    let decision:
      | Admission
      | ShedDecision
      | Promise<
        Admission | ShedDecision
      > = shedder.admit(this.#priorityOf(request, info));
    // Only a request that has to wait for a slot awaits here.
    if (decision instanceof Promise) decision = await decision;
    if (!decision.admitted) {
      // Refused: a minimal 503 in one write. The connection stays open
      // when nothing is left to read: closing it would make the client pay
      // a new TLS handshake per refusal, a storm under overload.
      const keep = keepAlive && body === null && head.versionMinor === 1;
      const sent = await this.writeAll(
        serviceUnavailableResponse(
          decision.retryAfterSeconds,
          keep ? KEEP_ALIVE : CLOSE,
        ),
      ).then(() => true, (e) => {
        this.#noteWriteError(e);
        return false;
      });
      this.#end(head, time, 503, 0, sent);
      this.#info = null;
      return keep && sent && !this.#closed;
    }
    this.#slot = decision;
    this.#startedAt = performance.now();
    this.#cfg.metrics.requestStarted();
    // No timeout bounds the handler, but after a while a client that left
    // must be noticed (see expire()).
    this.#setDeadline("watch", WATCH_PEER_MS);
    return this.#answered(
      head,
      time,
      keepAlive,
      body,
      info,
      this.#call(request, info),
    );
  }

  /**
   * The rest of an exchange once the handler was called: waits for its
   * answer, applies the HEAD and OPTIONS fallbacks and what the request
   * body asks for, writes the response.
   */
  async #answered(
    head: RequestHead,
    time: number,
    keepAlive: boolean,
    body: RequestBody | null,
    info: Info,
    answer: Response | Promise<Response>,
  ): Promise<boolean> {
    const cfg = this.#cfg;
    const state = this.#state;
    const method = head.method;
    const isHead = method === "HEAD";
    let res: Response;
    try {
      res = answer instanceof Response ? answer : await answer;
      if (isHead && (res.status === 405 || res.status === 501)) {
        // The handler does not know HEAD: answer with its GET headers.
        await res.body?.cancel();
        const get = this.#request(head, "GET", null, info);
        res = await this.#call(get, info);
      }
    } catch (error) {
      if (error !== ABANDONED) throw error;
      // Nobody is waiting for the answer any more.
      this.#end(head, time, 499, 0, false);
      return false;
    } finally {
      if (this.kind === "watch") this.deadline = Infinity;
    }
    if (res.status === 0) {
      // Response.error(): a network error has no HTTP form; the handler failed.
      res = await state.errorResponse(
        new TypeError("The handler answered Response.error()"),
      );
    } else if (res.status < 200) {
      // Only Deno.upgradeWebSocket() makes a 1xx Response (the constructor
      // refuses them). Sending its 101 would tell the client the protocol
      // switched when this engine cannot switch it: 501, and onError.
      await res.body?.cancel();
      state.handlerErrors++;
      state.reportError(
        new TypeError(
          `The handler answered ${res.status} (a protocol upgrade such as ` +
            "Deno.upgradeWebSocket()): this server does not support " +
            "upgrades; serve WebSockets with Deno.serve",
        ),
      );
      res = new Response(
        "This server does not support protocol upgrades such as WebSocket.\n",
        { status: 501 },
      );
    }
    if (
      method === "OPTIONS" && (res.status === 405 || res.status === 501)
    ) {
      const allow = res.headers.get("allow") ?? DEFAULT_ALLOW;
      await res.body?.cancel();
      res = new Response(null, { status: 204, headers: { allow } });
    }
    if (
      body !== null && !body.done && !body.touched && body.error === null &&
      !this.#continuePending && keepAlive && !body.inUse(res)
    ) {
      // The handler left its body unread: drop it now, so a broken body is
      // answered with its error rather than with the handler's response.
      try {
        if (!(await body.drain(cfg.maxDrainBytes))) keepAlive = false;
      } catch (error) {
        body.error = error;
      }
    }
    if (body?.error instanceof HttpError && !this.#responseStarted) {
      // The body broke (413, 400, 408): that is the answer, whatever the
      // handler made of it.
      await res.body?.cancel();
      const status = body.error.status;
      state.parseError(status, body.error);
      res = new Response(`${status}\n`, { status });
      keepAlive = false;
    }
    if (this.#continuePending) {
      // 100 Continue was never sent: the client may or may not send the body.
      keepAlive = false;
    }
    if (body !== null && !body.done && keepAlive && body.error === null) {
      // Decide before writing the head, so Connection: close is announced.
      if (!head.chunked && body.remaining > cfg.maxDrainBytes) {
        keepAlive = false;
      }
    }
    if (body !== null && body.error !== null) keepAlive = false;
    // A shutdown that began while the handler ran: announce the close.
    if (state.draining) keepAlive = false;

    let status = res.status;
    let bytes = 0;
    let complete = false;
    try {
      const fast = fastResponseBytes(
        this,
        res,
        isHead,
        keepAlive,
        head.versionMinor,
      );
      const all = fast ?? wholeResponseBytes(this, res, {
        head: isHead,
        keepAlive,
        versionMinor: head.versionMinor,
      });
      if (fast !== null) {
        // Head and body in one write, with no Headers made (see there).
        bytes = fastBodyBytes;
        await this.writeAll(fast, true);
      } else if (all !== null) {
        // Head and body in one write, made with no promise.
        bytes = whole.bytes;
        keepAlive = whole.keepAlive;
        await this.writeAll(all, true);
      } else {
        const result = await writeResponse(this, res, {
          head: isHead,
          keepAlive,
          versionMinor: head.versionMinor,
        });
        bytes = result.bytes;
        keepAlive = result.keepAlive;
      }
      complete = true;
    } catch (error) {
      keepAlive = false;
      if (!this.#responseStarted && !this.#closed) {
        // The body stream failed before anything was sent: a 500 instead.
        this.#info?.finish(false);
        state.reportError(error);
        status = 500;
        await this.writeAll(errorResponseBytes(500)).then(
          () => complete = true,
          (e) => this.#noteWriteError(e),
        );
      } else this.#noteWriteError(error);
    }
    // As in run(): the end of a closing client's last response goes out
    // before the bookkeeping.
    if (complete && !keepAlive && this.#closesAtOnce()) this.#closeTransport();
    this.#end(head, time, status, bytes, complete);
    this.#info = null;
    if (!keepAlive || this.#peerGone || this.#closed) return false;
    if (body !== null && !body.done) {
      try {
        if (!(await body.drain(cfg.maxDrainBytes))) return false;
      } catch (error) {
        if (error instanceof HttpError) state.parseError(error.status, error);
        return false;
      }
    }
    return true;
  }

  #noteWriteError(error: unknown): void {
    if (!this.#closed && !isPeerError(error)) this.#state.reportError(error);
  }

  #end(
    head: RequestHead,
    time: number,
    status: number,
    bytes: number,
    complete: boolean,
  ): void {
    if (this.#heldExchange) {
      // Its whole response waits in the batch (never after a deadline's
      // 408, see writeAll()): it ends when that is written.
      this.#heldExchange = false;
      this.#slot?.release();
      this.#slot = null;
      (this.#batched ??= []).push({
        head,
        time,
        status,
        bytes,
        info: this.#info,
        startedAt: this.#startedAt,
      });
      this.#startedAt = -1;
      return;
    }
    this.#info?.finish(complete && status !== 499 && this.#sentStatus === 0);
    if (this.#sentStatus !== 0) {
      // A deadline answered 408 while the handler ran: that is what went out.
      status = this.#sentStatus;
      bytes = 0;
      this.#sentStatus = 0;
    }
    const slot = this.#slot;
    if (slot !== null) {
      this.#slot = null;
      slot.release();
    }
    const startedAt = this.#startedAt;
    this.#startedAt = -1;
    this.#record(head, time, status, bytes, complete, startedAt);
  }

  /** Counts an ended exchange and logs it (startedAt -1: never handled). */
  #record(
    head: RequestHead,
    time: number,
    status: number,
    bytes: number,
    complete: boolean,
    startedAt: number,
  ): void {
    const state = this.#state;
    state.inFlight--;
    state.served++;
    if (startedAt >= 0) {
      state.cfg.metrics.requestFinished(status, performance.now() - startedAt);
    } else state.cfg.metrics.requestRejected(status);
    // The record is built only for a hook or a live access log: nothing is
    // allocated per request otherwise.
    if (!state.recording) return;
    state.responseEnd({
      remoteAddr: this.remoteAddr,
      time,
      method: head.method,
      target: head.target,
      protocol: head.versionMinor === 1 ? "HTTP/1.1" : "HTTP/1.0",
      requestLine: head.requestLine,
      headers: head.headers,
      status,
      bytesSent: bytes,
      durationMs: Date.now() - time,
      complete,
    });
  }

  /** The request's priority class; a bad answer is reported, then "normal". */
  #priorityOf(request: Request, info: Info): string {
    const fn = this.#cfg.priority;
    if (fn === null) return "normal";
    try {
      const cls = fn(request, info);
      if (cls === "critical" || cls === "normal" || cls === "low") return cls;
      throw new TypeError(
        `Invalid priority ${
          String(cls)
        }: expected "critical", "normal" or "low"`,
      );
    } catch (error) {
      this.#state.reportError(error);
      return "normal";
    }
  }

  #request(
    head: RequestHead,
    method: string,
    body: RequestBody | Uint8Array<ArrayBuffer> | null,
    info: Info,
  ): Request {
    const host = head.host !== ""
      ? head.host
      : this.localAddr.hostname.includes(":")
      ? `[${this.localAddr.hostname}]:${this.localAddr.port}`
      : `${this.localAddr.hostname}:${this.localAddr.port}`;
    return makeRequest(
      this.#scheme,
      host,
      head.path,
      method,
      head.headers,
      body instanceof RequestBody ? body.stream() : body,
      info,
    );
  }

  /** The handler's answer: a Response at once when it gives one. */
  #call(request: Request, info: Info): Response | Promise<Response> {
    this.#state.requestStart(request, info);
    let res: unknown;
    try {
      res = this.#cfg.handler(request, info);
    } catch (error) {
      return this.#failed(error);
    }
    if (res instanceof Response) return res;
    return this.#wait(res);
  }

  /** Waits for a handler's promise, unless the connection stops waiting. */
  async #wait(pending: unknown): Promise<Response> {
    try {
      // While the handler runs, the connection can stop waiting for it.
      if (this.#closed || this.#peerGone) throw ABANDONED;
      const res = await new Promise<unknown>((resolve, reject) => {
        this.#abandon = reject;
        Promise.resolve(pending).then(resolve, reject);
      });
      if (res instanceof Response) return res;
      throw new TypeError(
        `Invalid handler result ${String(res)}: expected a Response`,
      );
    } catch (error) {
      if (error === ABANDONED) throw error;
      return await this.#failed(error);
    } finally {
      this.#abandon = null;
    }
  }

  /** The response for a handler that threw or rejected. */
  #failed(error: unknown): Promise<Response> {
    const body = this.#body;
    if (error instanceof HttpError && body !== null && error === body.error) {
      // The client broke the body the handler was reading: the body's own
      // status answers (see #exchange). Not a handler failure to report.
      return Promise.resolve(new Response(null, { status: error.status }));
    }
    return this.#state.errorResponse(error);
  }
}
