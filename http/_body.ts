// Request bodies: Content-Length or chunked, read from the connection's
// receive buffer on demand, so the handler's reading pace is the backpressure.

import { ChunkedDecoder } from "./_chunked.ts";
import { HttpError } from "./errors.ts";

/** The connection side a body reads from. */
export interface BodySource {
  buf: Uint8Array;
  start: number;
  end: number;
  /** Reads more bytes after `end` under the body deadline; null at EOF. */
  readBody(): Promise<number | null>;
  /** Sends `100 Continue` if the request asked for it and it was not sent. */
  sendContinue(): Promise<void>;
}

/** Limits of a chunked body. */
export interface BodyLimits {
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
}

/** The state of one request body. */
export class RequestBody {
  #src: BodySource;
  #remaining: number;
  #decoder: ChunkedDecoder | null;
  /** Whether the whole body has been consumed from the connection. */
  done = false;
  /** The error that ended the body, if any. */
  error: unknown = null;
  /** Whether a ReadableStream was handed to the handler and read from. */
  touched = false;
  #stream: ReadableStream<Uint8Array> | null = null;

  /**
   * Whether something may still read the body stream: it is locked (being
   * read or piped) or it is the response's own body (an echo).
   */
  inUse(res: Response): boolean {
    const stream = this.#stream;
    return stream !== null && (stream.locked || res.body === stream);
  }

  constructor(
    src: BodySource,
    contentLength: number,
    chunked: boolean,
    limits: BodyLimits,
  ) {
    this.#src = src;
    this.#remaining = chunked ? 0 : contentLength;
    this.#decoder = chunked
      ? new ChunkedDecoder({
        maxBodyBytes: limits.maxBodyBytes,
        maxTrailerBytes: limits.maxHeaderBytes,
        maxTrailerCount: limits.maxHeaderCount,
        maxChunkExtBytes: 4096,
      })
      : null;
    if (!chunked && contentLength <= 0) this.done = true;
  }

  /** Trailer fields of a chunked body, flat [name, value, ...]. */
  get trailers(): string[] {
    return this.#decoder?.trailers ?? [];
  }

  /** Bytes still unread of a Content-Length body (0 for chunked). */
  get remaining(): number {
    return this.#remaining;
  }

  /**
   * Delivers the next piece(s) of the body to `onData` (views into the
   * receive buffer: copy to keep). Resolves once something was delivered or
   * the body ended.
   *
   * @throws {HttpError} On a framing error, 400 when the body ends early.
   */
  async step(onData: (view: Uint8Array) => void): Promise<void> {
    const src = this.#src;
    for (;;) {
      if (this.done) return;
      if (src.start < src.end) {
        if (this.#decoder === null) {
          const take = Math.min(this.#remaining, src.end - src.start);
          const view = src.buf.subarray(src.start, src.start + take);
          src.start += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.done = true;
          onData(view);
          return;
        }
        let delivered = false;
        src.start += this.#decoder.decode(
          src.buf,
          src.start,
          src.end,
          (view) => {
            delivered = true;
            onData(view);
          },
        );
        if (this.#decoder.done) this.done = true;
        if (delivered || this.done) return;
      }
      if (src.start === src.end) src.start = src.end = 0;
      else if (src.end === src.buf.length) {
        // A partial chunk line at the end of the buffer: make room.
        src.buf.copyWithin(0, src.start, src.end);
        src.end -= src.start;
        src.start = 0;
      }
      const n = await src.readBody();
      if (n === null) {
        throw new HttpError(400, "bad_request", "Request body ended early");
      }
    }
  }

  /**
   * The body as a stream for `new Request()`: each pull reads once, so an
   * unread body stays in the kernel's buffers.
   */
  stream(): ReadableStream<Uint8Array> {
    return this.#stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        this.touched = true;
        try {
          await this.#src.sendContinue();
          await this.step((view) => controller.enqueue(view.slice()));
          if (this.done) controller.close();
        } catch (error) {
          this.error ??= error;
          controller.error(error);
        }
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Reads and drops the rest of the body, up to `limit` bytes.
   *
   * @returns Whether the body ended within the limit.
   */
  async drain(limit: number): Promise<boolean> {
    if (this.#decoder === null && this.#remaining > limit) return false;
    let dropped = 0;
    while (!this.done) {
      await this.step((view) => {
        dropped += view.length;
      });
      if (dropped > limit) return false;
    }
    return true;
  }
}
