// Incremental decoder and encoder for the chunked transfer coding (RFC 9112 §7.1).
// A byte-level state machine, so any split of the input gives the same result;
// every line is bounded, and nothing is resynchronised after an error.

import { HttpError } from "./errors.ts";
import { FIELD_VALUE, HEX_VALUE, latin1, QDTEXT, TOKEN } from "./_tokens.ts";

/** Limits of a chunked request body. */
export interface ChunkedLimits {
  /** Sum of the chunk sizes; over it: 413. */
  maxBodyBytes: number;
  /** Bytes of the trailer section incl. its line ends; over it: 431. */
  maxTrailerBytes: number;
  /** Number of trailer field lines; over it: 431. */
  maxTrailerCount: number;
  /** Bytes of the extensions of one chunk-size line; over it: 400. */
  maxChunkExtBytes: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** At most 16 hex digits, so a size can never overflow silently. */
const MAX_SIZE_DIGITS = 16;

// Decoder states (plain numbers: cheaper to compare than enum members).
type S = number;
const SizeStart = 0;
const Size = 1;
const SizeBws = 2; // whitespace after the size: only ";" may follow
const ExtNameStart = 3; // after ";", BWS then a token
const ExtName = 4;
const ExtAfterName = 5; // BWS then "=", ";" or CR
const ExtValueStart = 6; // after "=", BWS then a token or a quoted-string
const ExtToken = 7;
const ExtQuoted = 8;
const ExtQuotedPair = 9;
const ExtAfterValue = 10; // BWS then ";" or CR
const SizeLf = 11;
const Data = 12;
const DataCr = 13;
const DataLf = 14;
const TrailerStart = 15;
const TrailerName = 16;
const TrailerValue = 17;
const TrailerLf = 18;
const EndLf = 19;
const Done = 20;

function bad(message: string): HttpError {
  return new HttpError(400, "bad_request", message);
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

/**
 * Decodes a chunked request body incrementally: feed it the bytes after the
 * request head as they arrive, in any split.
 *
 * @example Decode a body in two pieces
 * ```ts
 * import { ChunkedDecoder } from "./_chunked.ts";
 *
 * const decoder = new ChunkedDecoder({
 *   maxBodyBytes: 1 << 20,
 *   maxTrailerBytes: 8192,
 *   maxTrailerCount: 32,
 *   maxChunkExtBytes: 1024,
 * });
 * const bytes = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\nNEXT");
 * const parts: string[] = [];
 * let used = decoder.decode(bytes, 0, 7, (d) => parts.push(new TextDecoder().decode(d)));
 * used += decoder.decode(bytes, used, bytes.length, (d) => parts.push(new TextDecoder().decode(d)));
 * console.log(parts.join(""), decoder.done, used); // hello true 15
 * ```
 */
export class ChunkedDecoder {
  #limits: ChunkedLimits;
  #state: S = SizeStart;
  #digits = 0;
  #size = 0;
  #remaining = 0;
  #extBytes = 0;
  #extSawWs = false;
  #announced = 0;
  #bodyBytes = 0;
  #trailers: string[] = [];
  #trailerBytes = 0;
  #line: number[] = [];
  #colon = 0;
  #error: HttpError | null = null;

  /**
   * Creates a decoder for one message body.
   *
   * @param limits Size limits.
   */
  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  /** Whether the message is complete (last chunk and trailer section read). */
  get done(): boolean {
    return this.#state === Done;
  }

  /** Trailer fields, flat [name, value, ...]; never merged into the headers. */
  get trailers(): string[] {
    return this.#trailers;
  }

  /** Body bytes delivered so far. */
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /**
   * Consumes bytes from buf[start, end) and stops right after the end of the
   * message, so the rest of `buf` is the next pipelined request.
   *
   * @param buf The receive buffer.
   * @param start Offset of the first unread byte.
   * @param end Offset after the last received byte.
   * @param onData Called with each piece of body data, a view into `buf`
   * (copy it to keep it).
   * @returns The number of bytes consumed.
   * @throws {HttpError} 400 on a syntax error, 413 over `maxBodyBytes`, 431
   * over the trailer limits; again on every later call.
   * @throws {RangeError} If `start` and `end` are not offsets within `buf`.
   */
  decode(
    buf: Uint8Array,
    start: number,
    end: number,
    onData: (data: Uint8Array) => void,
  ): number {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(
        `Invalid range [${start}, ${end}) of a buffer of ${buf.length} bytes`,
      );
    }
    if (this.#error !== null) throw this.#error;
    try {
      return this.#decode(buf, start, end, onData);
    } catch (error) {
      if (error instanceof HttpError) this.#error = error;
      throw error;
    }
  }

  #decode(
    buf: Uint8Array,
    start: number,
    end: number,
    onData: (data: Uint8Array) => void,
  ): number {
    const limits = this.#limits;
    let state = this.#state;
    let p = start;
    while (p < end && state !== Done) {
      if (state === Data) {
        const n = Math.min(this.#remaining, end - p);
        this.#remaining -= n;
        this.#bodyBytes += n;
        const view = buf.subarray(p, p + n);
        p += n;
        if (this.#remaining === 0) state = DataCr;
        this.#state = state;
        onData(view);
        continue;
      }
      const b = buf[p++]!;
      switch (state) {
        case SizeStart:
        case Size: {
          const d = HEX_VALUE[b]!;
          if (d !== 255) {
            if (++this.#digits > MAX_SIZE_DIGITS) {
              throw bad(`Chunk size has more than ${MAX_SIZE_DIGITS} digits`);
            }
            this.#size = this.#size * 16 + d;
            state = Size;
            break;
          }
          if (state === SizeStart) {
            throw bad(`Invalid byte ${hex(b)} at the start of a chunk size`);
          }
          this.#checkSize();
          this.#extBytes = 0;
          if (b === CR) state = SizeLf;
          else if (b === SEMI) state = ExtNameStart;
          else if (b === SP || b === HTAB) state = SizeBws;
          else throw bad(`Invalid byte ${hex(b)} in a chunk size`);
          break;
        }
        case SizeBws:
          this.#ext(limits);
          if (b === SEMI) state = ExtNameStart;
          else if (b !== SP && b !== HTAB) {
            throw bad(`Invalid byte ${hex(b)} after a chunk size`);
          }
          break;
        case ExtNameStart:
          this.#ext(limits);
          if (TOKEN[b] === 1) state = ExtName;
          else if (b !== SP && b !== HTAB) {
            throw bad(`Invalid chunk extension name byte ${hex(b)}`);
          }
          break;
        case ExtName:
        case ExtToken:
          // A name may be followed by "=value"; a token value may not.
          if (TOKEN[b] === 1) {
            this.#ext(limits);
            break;
          }
          if (b === CR) {
            state = SizeLf;
            break;
          }
          this.#ext(limits);
          this.#extSawWs = false;
          state = this.#afterExt(b, state === ExtName);
          break;
        case ExtAfterName:
          this.#ext(limits);
          state = this.#afterExt(b, true);
          break;
        case ExtValueStart:
          this.#ext(limits);
          if (TOKEN[b] === 1) state = ExtToken;
          else if (b === DQUOTE) state = ExtQuoted;
          else if (b !== SP && b !== HTAB) {
            throw bad(`Invalid chunk extension value byte ${hex(b)}`);
          }
          break;
        case ExtQuoted:
          this.#ext(limits);
          if (b === DQUOTE) {
            this.#extSawWs = false;
            state = ExtAfterValue;
          } else if (b === BACKSLASH) state = ExtQuotedPair;
          else if (QDTEXT[b] !== 1) {
            throw bad(`Invalid byte ${hex(b)} in a quoted chunk extension`);
          }
          break;
        case ExtQuotedPair:
          this.#ext(limits);
          if (FIELD_VALUE[b] === 0) {
            throw bad(`Invalid byte ${hex(b)} in a quoted chunk extension`);
          }
          state = ExtQuoted;
          break;
        case ExtAfterValue:
          if (b === CR && !this.#extSawWs) {
            state = SizeLf;
            break;
          }
          this.#ext(limits);
          state = this.#afterExt(b, false);
          break;
        case SizeLf:
          if (b !== LF) throw bad("Chunk-size line not ended by CRLF");
          this.#remaining = this.#size;
          this.#size = 0;
          this.#digits = 0;
          state = this.#remaining === 0 ? TrailerStart : Data;
          break;
        case DataCr:
          if (b !== CR) throw bad("Chunk data not followed by CRLF");
          state = DataLf;
          break;
        case DataLf:
          if (b !== LF) throw bad("Chunk data not followed by CRLF");
          state = SizeStart;
          break;
        case TrailerStart:
          this.#trailerByte(limits);
          if (b === CR) state = EndLf;
          else if (TOKEN[b] === 1) {
            if (this.#trailers.length / 2 >= limits.maxTrailerCount) {
              throw new HttpError(
                431,
                "header_fields_too_large",
                `More than ${limits.maxTrailerCount} trailer fields`,
              );
            }
            this.#line.length = 0;
            this.#line.push(b);
            state = TrailerName;
          } else if (b === SP || b === HTAB) {
            throw bad("Whitespace at the start of a trailer line (obs-fold)");
          } else if (b === COLON) throw bad("Empty trailer field name");
          else if (b === LF) throw bad("Bare LF in the trailer section");
          else throw bad(`Invalid byte ${hex(b)} in a trailer field name`);
          break;
        case TrailerName:
          this.#trailerByte(limits);
          if (TOKEN[b] === 1) this.#line.push(b);
          else if (b === COLON) {
            this.#colon = this.#line.length;
            state = TrailerValue;
          } else if (b === SP || b === HTAB) {
            throw bad("Whitespace between a trailer field name and the colon");
          } else throw bad(`Invalid byte ${hex(b)} in a trailer field name`);
          break;
        case TrailerValue:
          this.#trailerByte(limits);
          if (FIELD_VALUE[b] !== 0) this.#line.push(b);
          else if (b === CR) state = TrailerLf;
          else throw bad(`Invalid byte ${hex(b)} in a trailer field value`);
          break;
        case TrailerLf:
          this.#trailerByte(limits);
          if (b !== LF) throw bad("Bare CR in the trailer section");
          this.#pushTrailer();
          state = TrailerStart;
          break;
        case EndLf:
          this.#trailerByte(limits);
          if (b !== LF) throw bad("Bare CR at the end of the trailer section");
          state = Done;
          break;
      }
    }
    this.#state = state;
    return p - start;
  }

  /** After an extension name (`name`) or value: BWS, then "=", ";" or CR. */
  #afterExt(b: number, name: boolean): S {
    if (b === SP || b === HTAB) {
      this.#extSawWs = true;
      return name ? ExtAfterName : ExtAfterValue;
    }
    if (b === SEMI) return ExtNameStart;
    if (b === EQUALS && name) return ExtValueStart;
    if (b === CR) {
      // BWS is allowed before ";" or "=" only, never before the line end.
      if (this.#extSawWs) {
        throw bad("Whitespace before the end of a chunk-size line");
      }
      return SizeLf;
    }
    throw bad(`Invalid byte ${hex(b)} in a chunk extension`);
  }

  #ext(limits: ChunkedLimits): void {
    if (++this.#extBytes > limits.maxChunkExtBytes) {
      throw bad(`Chunk extensions exceed ${limits.maxChunkExtBytes} bytes`);
    }
  }

  #checkSize(): void {
    this.#announced += this.#size;
    if (this.#announced > this.#limits.maxBodyBytes) {
      throw new HttpError(
        413,
        "payload_too_large",
        `Chunked body exceeds ${this.#limits.maxBodyBytes} bytes`,
      );
    }
  }

  #trailerByte(limits: ChunkedLimits): void {
    if (++this.#trailerBytes > limits.maxTrailerBytes) {
      throw new HttpError(
        431,
        "header_fields_too_large",
        `Trailer section exceeds ${limits.maxTrailerBytes} bytes`,
      );
    }
  }

  #pushTrailer(): void {
    const line = Uint8Array.from(this.#line);
    let s = this.#colon;
    let e = line.length;
    while (s < e && (line[s] === SP || line[s] === HTAB)) s++;
    while (e > s && (line[e - 1] === SP || line[e - 1] === HTAB)) e--;
    this.#trailers.push(latin1(line, 0, this.#colon), latin1(line, s, e));
    this.#line.length = 0;
  }
}

const encoder = new TextEncoder();

/**
 * Encodes one chunk of a chunked response body: size line, data and CRLF in one
 * array (one write). An empty `data` gives an empty array, because a
 * zero-size chunk would end the body.
 *
 * @example Frame two chunks and the end of the body
 * ```ts
 * import { encodeChunk, LAST_CHUNK } from "./_chunked.ts";
 *
 * const first = encodeChunk(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(first)); // "5\r\nhello\r\n"
 * console.log(LAST_CHUNK.length); // 5
 * ```
 *
 * @param data The chunk data.
 * @returns The framed chunk.
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0);
  const size = encoder.encode(data.length.toString(16) + "\r\n");
  const out = new Uint8Array(size.length + data.length + 2);
  out.set(size, 0);
  out.set(data, size.length);
  out[out.length - 2] = CR;
  out[out.length - 1] = LF;
  return out;
}

/** The last chunk with an empty trailer section: `0\r\n\r\n`. */
export const LAST_CHUNK: Uint8Array = encoder.encode("0\r\n\r\n");
