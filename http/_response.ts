// Serialising a Response onto the wire: one write for the head and a body
// of known length (Nagle), chunked framing for streams of unknown length,
// each write carrying all a stream has ready.

import { LAST_CHUNK } from "./_chunked.ts";
import { httpDate, httpDateLine } from "./_date.ts";
import {
  fastContentType,
  hasNullBody,
  headerListOf,
  knownBodyLength,
  takeServeFastBody,
  takeStaticBody,
} from "./_static_body.ts";

const encoder = new TextEncoder();

/** The reason phrases we print; other codes get "Unknown". */
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The most bytes of a streamed body gathered for one write. */
const COALESCE_BYTES = 65_536;
/**
 * A complete body smaller than this goes out with its head in one write; a
 * larger one in a write of its own (see writeWhole()).
 */
const APART_BYTES = 65_483;

/** The transport side the writer needs. */
export interface ResponseSink {
  /**
   * Writes all of `data`, bounded by the write deadline. `whole`: `data` is
   * the entire response (the sink may hold it back to join a pipelined
   * neighbour's in one write).
   */
  writeAll(data: Uint8Array, whole?: boolean): Promise<void>;
  /**
   * A buffer of at least `size` bytes, reused between writes (each write is
   * awaited before the next one fills it).
   */
  scratch(size: number): Uint8Array;
}

/** How the response must be framed. */
export interface ResponseFrame {
  /** Request was HEAD: headers only. */
  head: boolean;
  /** Keep the connection open after this response. */
  keepAlive: boolean;
  /** The request's HTTP minor version. */
  versionMinor: 0 | 1;
}

/** What was sent. */
export interface ResponseResult {
  /** Body bytes written. */
  bytes: number;
  /** False when the connection must close (unframed body, length mismatch). */
  keepAlive: boolean;
}

/** What ready() gives for a read that is still waiting. */
const PENDING: unique symbol = Symbol("pending");

/** Microtask turns a stream gets to answer a read before it counts as waiting. */
const READY_TURNS = 10;

/**
 * The stream read `read` if it settles within READY_TURNS microtask turns,
 * else PENDING. A stream whose data is there answers a read a few turns after
 * it is made, not at once: 1-2 for a pull source that enqueues at once, 3-5
 * for `ReadableStream.from()` over an array or an async generator, up to 8
 * through a `TextEncoderStream` (measured on Deno 2.9).
 */
function ready<T>(read: Promise<T>): Promise<T | typeof PENDING> {
  let late: Promise<typeof PENDING> = Promise.resolve(PENDING);
  for (let i = 1; i < READY_TURNS; i++) late = late.then();
  return Promise.race([read, late]);
}

/** What a response's status and own headers put in its head. */
class Head {
  #prefix: Uint8Array | null = null;
  /** The status line and header lines, encoded once. */
  prefixBytes(): Uint8Array {
    return this.#prefix ??= latin1(this.statusLine + this.lines);
  }
  constructor(
    /** "HTTP/1.1 200 OK\r\n" */
    readonly statusLine: string,
    /** The response's header lines, minus those the framing sets. */
    readonly lines: string,
    readonly hasDate: boolean,
    /** The response asked to close the connection. */
    readonly close: boolean,
    /** Its Content-Length, -1 when absent or invalid. */
    readonly declared: number,
  ) {}
}

function statusLine(status: number, text: string): string {
  return "HTTP/1.1 " + status + " " + (text || REASONS[status] || "Unknown") +
    "\r\n";
}

const CLOSE_TOKEN = /(^|,)\s*close\s*(,|$)/i;
const DIGITS = /^\d{1,15}$/;

/** The head wholeResponseBytes() read of a response it left to writeAny(). */
let lastHead: Head | null = null;
let lastHeadOf: Response | null = null;

/** Reads the status and headers of `res` once. */
function headOf(res: Response): Head {
  if (lastHeadOf === res) {
    const h = lastHead!;
    lastHead = lastHeadOf = null;
    return h;
  }
  const status = res.status;
  // Reading the headers puts a lazily kept content type in the list.
  const headers = res.headers;
  const list = headerListOf(res);
  let lines = "";
  let hasDate = false;
  let close = false;
  let declared = -1;
  const add = (value: string, name: string): void => {
    switch (name) {
      case "connection":
        if (CLOSE_TOKEN.test(value)) close = true;
        return;
      case "keep-alive":
      case "transfer-encoding":
        return;
      case "content-length": {
        const n = DIGITS.test(value) ? Number(value) : -2;
        // Differing or invalid lengths declare nothing.
        declared = declared === -1 || declared === n ? n : -2;
        return;
      }
      case "date":
        hasDate = true;
    }
    lines += name + ": " + value + "\r\n";
  };
  if (list !== null) {
    // The list itself: the Headers iterator sorts and combines per call.
    for (let i = 0; i < list.length; i++) {
      const pair = list[i]!;
      add(pair[1], pair[0].toLowerCase());
    }
  } else headers.forEach(add);
  return new Head(
    statusLine(status, res.statusText),
    lines,
    hasDate,
    close,
    declared < 0 ? -1 : declared,
  );
}

/** Heads of 200 responses made with no init, by content type. */
const fastHeads = new Map<string | null, Head>();

function fastHead(contentType: string | null): Head {
  let head = fastHeads.get(contentType);
  if (head === undefined) {
    head = new Head(
      statusLine(200, ""),
      contentType === null ? "" : "content-type: " + contentType + "\r\n",
      false,
      false,
      -1,
    );
    // Content types come from the application's code: a handful.
    if (fastHeads.size < 64) fastHeads.set(contentType, head);
  }
  return head;
}

function headString(
  h: Head,
  frame: ResponseFrame,
  keepAlive: boolean,
  length: number,
  chunked: boolean,
): string {
  let s = h.statusLine + h.lines;
  if (!h.hasDate) s += "date: " + httpDate() + "\r\n";
  if (!keepAlive) s += "connection: close\r\n";
  else if (frame.versionMinor === 0) s += "connection: keep-alive\r\n";
  if (length >= 0) s += "content-length: " + length + "\r\n";
  else if (chunked) s += "transfer-encoding: chunked\r\n";
  return s + "\r\n";
}

/**
 * Writes `s` into `out` from `at`, one byte per character; returns the
 * offset after it. A head is sent as ByteStrings are meant: status text and
 * field values hold code units up to 0xFF (the Response and Headers classes
 * check it), each one byte on the wire (obs-text), as Deno.serve sends them.
 */
function latin1Into(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) out[at + i] = s.charCodeAt(i);
  return at + n;
}

/** `s` (code units up to 0xFF) as bytes, one per character. */
function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  latin1Into(s, out, 0);
  return out;
}

function concat(
  sink: ResponseSink,
  head: string,
  body: Uint8Array | null,
): Uint8Array {
  const bodyLength = body === null ? 0 : body.length;
  const out = sink.scratch(head.length + bodyLength);
  const written = latin1Into(head, out, 0);
  if (body !== null) out.set(body, written);
  return out.subarray(0, written + bodyLength);
}

/**
 * One write's worth of a streamed body: the head (the first time), `parts`
 * as one chunk (chunked) or as they are, and the last chunk when `end`.
 */
function frameParts(
  sink: ResponseSink,
  head: string | null,
  parts: Uint8Array[],
  size: number,
  chunked: boolean,
  end: boolean,
): Uint8Array {
  const text = (head ?? "") +
    (chunked && size > 0 ? size.toString(16) + "\r\n" : "");
  const tail = (chunked && size > 0 ? 2 : 0) +
    (chunked && end ? LAST_CHUNK.length : 0);
  const out = sink.scratch(text.length + size + tail);
  let o = latin1Into(text, out, 0);
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  if (chunked && size > 0) {
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  if (chunked && end) {
    out.set(LAST_CHUNK, o);
    o += LAST_CHUNK.length;
  }
  return out.subarray(0, o);
}

/** Short enough to join its head as a string, and all ASCII. */
function isShortAscii(s: string): boolean {
  return s.length <= 1024 && isAscii(s);
}

/** Whether `s` is all ASCII (then its UTF-8 length is its length). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return false;
  }
  return true;
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `Invalid response body chunk ${typeof chunk}: expected a Uint8Array`,
  );
}

/**
 * The head of a response that has no body bytes: 204/304 carry no
 * Content-Length; HEAD keeps the declared one; an empty body gets
 * Content-Length: 0.
 */
function headOnlyBytes(
  sink: ResponseSink,
  h: Head,
  frame: ResponseFrame,
  keepAlive: boolean,
  noLength: boolean,
): Uint8Array {
  const length = noLength ? -1 : frame.head ? Math.max(h.declared, 0) : 0;
  return concat(sink, headString(h, frame, keepAlive, length, false), null);
}

/** The body length of the bytes wholeBytes() last returned. */
let wholeBodyBytes = 0;

/**
 * Head and body in one buffer for a body given whole, with its length; null
 * for a body of APART_BYTES or more (not HEAD), which goes apart from its
 * head (see writeWhole()).
 */
function wholeBytes(
  sink: ResponseSink,
  h: Head,
  frame: ResponseFrame,
  keepAlive: boolean,
  body: string | Uint8Array,
): Uint8Array | null {
  if (typeof body === "string" && isShortAscii(body)) {
    // One string, one copy: its byte length is its length.
    const head = headString(h, frame, keepAlive, body.length, false);
    wholeBodyBytes = frame.head ? 0 : body.length;
    return concat(sink, frame.head ? head : head + body, null);
  }
  const data = typeof body === "string" ? encoder.encode(body) : body;
  if (!frame.head && data.length >= APART_BYTES) return null;
  const head = headString(h, frame, keepAlive, data.length, false);
  wholeBodyBytes = frame.head ? 0 : data.length;
  return concat(sink, head, frame.head ? null : data);
}

/** Writes a response that has no body bytes (see headOnlyBytes()). */
function writeHeadOnly(
  sink: ResponseSink,
  h: Head,
  frame: ResponseFrame,
  keepAlive: boolean,
  noLength: boolean,
): Promise<unknown> {
  return sink.writeAll(
    headOnlyBytes(sink, h, frame, keepAlive, noLength),
    true,
  );
}

/** Writes a response whose whole body is known: a Content-Length. */
async function writeWhole(
  sink: ResponseSink,
  h: Head,
  frame: ResponseFrame,
  keepAlive: boolean,
  whole: string | Uint8Array,
): Promise<ResponseResult> {
  // Encoded once here when it may be large: wholeBytes() keeps short ASCII
  // strings as they are, and never refuses those.
  const body = typeof whole === "string" && !isShortAscii(whole)
    ? encoder.encode(whole)
    : whole;
  const bytes = wholeBytes(sink, h, frame, keepAlive, body);
  if (bytes !== null) {
    const length = wholeBodyBytes;
    await sink.writeAll(bytes, true);
    return { bytes: length, keepAlive };
  }
  // A body this large fills a loopback TCP segment (65 483 bytes) on its
  // own, which Nagle never holds; behind a small head segment, head and body
  // in one write would end in small ones that wait for an ACK.
  const data = body as Uint8Array;
  await sink.writeAll(
    latin1(headString(h, frame, keepAlive, data.length, false)),
  );
  await sink.writeAll(data);
  return { bytes: data.length, keepAlive };
}

/** The body length of the bytes fastResponseBytes() last returned. */
export let fastBodyBytes = 0;

/**
 * Head and body in one buffer (`sink.scratch`) for a 200 response made from
 * a string, bytes or JSON with no init (its headers were never made, and
 * need not be); null, leaving `res` untouched, for any other response.
 * `fastBodyBytes` tells the body's length.
 */
export function fastResponseBytes(
  sink: ResponseSink,
  res: Response,
  head: boolean,
  keepAlive: boolean,
  versionMinor: 0 | 1,
): Uint8Array | null {
  const whole = takeServeFastBody(res, COALESCE_BYTES / 3);
  if (whole === null) return null;
  // Built from cached bytes with no encoder call: a text encoder op per
  // response showed in Connection: close profiles.
  const prefix = fastHead(fastContentType).prefixBytes();
  let data: Uint8Array | null = null;
  let length: number;
  if (typeof whole !== "string") length = (data = whole).length;
  else if (whole.length <= 4096 && isAscii(whole)) length = whole.length;
  else length = (data = encoder.encode(whole)).length;
  const date = httpDateLine();
  const connection = !keepAlive
    ? CONNECTION_CLOSE
    : versionMinor === 0
    ? CONNECTION_KEEP_ALIVE
    : NOTHING;
  const bodyLength = head ? 0 : length;
  const out = sink.scratch(
    prefix.length + date.length + connection.length + CONTENT_LENGTH.length +
      20 + bodyLength,
  );
  out.set(prefix);
  let o = prefix.length;
  out.set(date, o);
  o += date.length;
  out.set(connection, o);
  o += connection.length;
  out.set(CONTENT_LENGTH, o);
  o += CONTENT_LENGTH.length;
  const digits = String(length);
  for (let i = 0; i < digits.length; i++) out[o++] = digits.charCodeAt(i);
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  out[o++] = 0x0d;
  out[o++] = 0x0a;
  if (!head) {
    if (data !== null) {
      out.set(data, o);
      o += length;
    } else {
      const text = whole as string;
      for (let i = 0; i < length; i++) out[o++] = text.charCodeAt(i);
    }
  }
  fastBodyBytes = bodyLength;
  return out.subarray(0, o);
}

/** The status, body length and keep-alive of wholeResponseBytes()'s last. */
export const whole = { status: 0, bytes: 0, keepAlive: false };

/**
 * Head and body in one buffer (`sink.scratch`) for a response of any
 * status from 200 and headers whose body is absent or was given whole (a
 * string or bytes up to a third of a write's worth); `whole` tells its
 * status, body length and whether the connection stays open. Null, leaving
 * `res` untouched, for a streamed or larger body, or a status below 200.
 * What writeAny() would send, made with no promise: run() writes it.
 */
export function wholeResponseBytes(
  sink: ResponseSink,
  res: Response,
  frame: ResponseFrame,
): Uint8Array | null {
  const status = res.status;
  if (status < 200) return null;
  const noBody = status === 204 || status === 304;
  // Reading the headers first: takeStaticBody() wants them read.
  const h = headOf(res);
  let body: string | Uint8Array | null = null;
  if (!noBody) body = takeStaticBody(res, COALESCE_BYTES / 3);
  if (body === null && !hasNullBody(res)) {
    // Streamed (or large): writeAny() sends it, with this head.
    lastHead = h;
    lastHeadOf = res;
    return null;
  }
  const keepAlive = frame.keepAlive && !h.close;
  // A body up to a third of a write is under APART_BYTES: never null.
  const out = body === null
    ? headOnlyBytes(sink, h, frame, keepAlive, noBody)
    : wholeBytes(sink, h, frame, keepAlive, body)!;
  whole.status = status;
  whole.bytes = body === null ? 0 : wholeBodyBytes;
  whole.keepAlive = keepAlive;
  return out;
}

const CONNECTION_CLOSE = encoder.encode("connection: close\r\n");
const CONNECTION_KEEP_ALIVE = encoder.encode("connection: keep-alive\r\n");
const NOTHING = new Uint8Array(0);
const CONTENT_LENGTH = encoder.encode("content-length: ");

/**
 * Writes `res` (head and body). Reads the body with backpressure: each chunk
 * is written before the next is pulled. A body that is complete at once gets
 * a Content-Length; one that is still producing is sent chunked (or, for an
 * HTTP/1.0 client, unframed and followed by a close).
 *
 * @throws What the transport or the body stream throws; the body is cancelled.
 */
export function writeResponse(
  sink: ResponseSink,
  res: Response,
  frame: ResponseFrame,
): Promise<ResponseResult> {
  // A 200 made with no init whose body fastResponseBytes() left (a large
  // one): its headers were never made, and need not be.
  const fast = takeServeFastBody(res);
  if (fast !== null) {
    return writeWhole(
      sink,
      fastHead(fastContentType),
      frame,
      frame.keepAlive,
      fast,
    );
  }
  return writeAny(sink, res, frame);
}

async function writeAny(
  sink: ResponseSink,
  res: Response,
  frame: ResponseFrame,
): Promise<ResponseResult> {
  const h = headOf(res);
  const status = res.status;
  // The handler may close the connection too: `Connection: close`.
  let keepAlive = frame.keepAlive && !h.close;
  if (status !== 204 && status !== 304) {
    const whole = takeStaticBody(res);
    if (whole !== null) return writeWhole(sink, h, frame, keepAlive, whole);
  }
  const body = res.body;
  if (status === 204 || status === 304 || body === null) {
    if (body !== null) await body.cancel();
    const noLength = status === 204 || status === 304;
    await writeHeadOnly(sink, h, frame, keepAlive, noLength);
    return { bytes: 0, keepAlive };
  }
  const reader = body.getReader();
  let completed = false;
  try {
    const first = await reader.read();
    if (first.done) {
      completed = true;
      await writeHeadOnly(sink, h, frame, keepAlive, false);
      return { bytes: 0, keepAlive };
    }
    const data = asBytes(first.value);
    const nextRead = reader.read();
    const next = await ready(nextRead);
    if (next !== PENDING && next.done) {
      // The whole body was there at once: a known length.
      completed = true;
      return await writeWhole(sink, h, frame, keepAlive, data);
    }
    // A Blob or FormData body: its size is known though it streams.
    const declared = h.declared >= 0 ? h.declared : knownBodyLength(res);
    if (frame.head) {
      await reader.cancel();
      completed = true;
      await sink.writeAll(
        concat(sink, headString(h, frame, keepAlive, declared, false), null),
        true,
      );
      return { bytes: 0, keepAlive };
    }
    // What the stream has ready goes out in one write, with the head first
    // and the end of the body last: each small write after another waits
    // for the client's delayed ACK (Nagle, ~40 ms), so a head, a chunk and
    // the last chunk written apart cost that much per response.
    const parts: Uint8Array[] = [data];
    let size = data.length;
    let bytes = data.length;
    let read = nextRead;
    let result: ReadableStreamReadResult<Uint8Array> | typeof PENDING = next;
    // Set by the first write: chunked, or unframed for HTTP/1.0 (a declared
    // length is checked).
    let chunked: boolean | null = null;
    for (;;) {
      if (declared >= 0 && bytes > declared) {
        throw new RangeError(
          `Response body exceeds its content-length ${declared}`,
        );
      }
      while (result !== PENDING && !result.done && size < COALESCE_BYTES) {
        const chunk = asBytes(result.value);
        bytes += chunk.length;
        if (declared >= 0 && bytes > declared) {
          throw new RangeError(
            `Response body exceeds its content-length ${declared}`,
          );
        }
        if (chunk.length > 0) {
          parts.push(chunk);
          size += chunk.length;
        }
        read = reader.read();
        result = await ready(read);
      }
      const end = result !== PENDING && result.done;
      if (end) completed = true;
      if (chunked === null) {
        if (end && declared < 0) {
          // The whole body was there after all: a known length.
          const head = headString(h, frame, keepAlive, size, false);
          await sink.writeAll(
            frameParts(sink, head, parts, size, false, false),
            true,
          );
          break;
        }
        chunked = declared < 0 && frame.versionMinor === 1;
        if (declared < 0 && !chunked) keepAlive = false;
        const head = headString(h, frame, keepAlive, declared, chunked);
        await sink.writeAll(
          frameParts(sink, head, parts, size, chunked, end),
          end,
        );
      } else if (!chunked && parts.length === 1) {
        // A chunk of an unframed or declared-length body: no copy.
        await sink.writeAll(parts[0]!);
      } else if (size > 0 || (end && chunked)) {
        await sink.writeAll(frameParts(sink, null, parts, size, chunked, end));
      }
      parts.length = 0;
      size = 0;
      if (end) break;
      if (result === PENDING) result = await read;
    }
    if (declared >= 0 && bytes !== declared) {
      throw new RangeError(
        `Response body of ${bytes} bytes is shorter than its content-length ${declared}`,
      );
    }
    return { bytes, keepAlive };
  } finally {
    if (!completed) {
      reader.cancel().catch(() => {
        // The stream's own cancel failure; the write error is what we report.
      });
    }
  }
}

/**
 * A minimal response for a status the server answers on its own.
 *
 * @param status The status code.
 * @param extra More header lines, each ending in CRLF.
 * @returns The bytes to write; the connection closes after them.
 */
export function errorResponseBytes(status: number, extra = ""): Uint8Array {
  const reason = REASONS[status] ?? "Error";
  const body = `${status} ${reason}\n`;
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ndate: ${httpDate()}\r\n` +
      `connection: close\r\n${extra}content-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${body.length}\r\n\r\n${body}`,
  );
}

/** The bytes of an interim `100 Continue`. */
export const CONTINUE_BYTES: Uint8Array = encoder.encode(
  "HTTP/1.1 100 Continue\r\n\r\n",
);

/**
 * A `204` answering OPTIONS with `Allow`.
 *
 * @param allow The Allow header value.
 * @param keepAlive Keep the connection open.
 * @param versionMinor The request's HTTP minor version.
 * @returns The bytes to write.
 */
export function allowResponseBytes(
  allow: string,
  keepAlive: boolean,
  versionMinor: 0 | 1,
): Uint8Array {
  const connection = !keepAlive
    ? "connection: close\r\n"
    : versionMinor === 0
    ? "connection: keep-alive\r\n"
    : "";
  return latin1(
    `HTTP/1.1 204 No Content\r\ndate: ${httpDate()}\r\nallow: ${allow}\r\n${connection}\r\n`,
  );
}
