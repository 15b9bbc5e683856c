// Strict HTTP/1.1 request-head parser (RFC 9112 §2-§7, RFC 9110 §5, §7.2, §8.6,
// §10.1.1). One pass over the bytes with lookup tables; strings are decoded once
// per field. Anything the grammar does not allow is an HttpError, never a guess.

import { HttpError } from "./errors.ts";
import {
  ascii,
  CONNECTION_CLOSE,
  CONNECTION_KEEP_ALIVE,
  connectionOptions,
  eqLower,
  FIELD_VALUE,
  HEX_VALUE,
  knownMethod,
  latin1,
  MAX_METHOD_BYTES,
  TARGET,
  TOKEN,
  transferCodings,
  validHost,
} from "./_tokens.ts";

/** Size limits applied while a request head is parsed. */
export interface ParseLimits {
  /** Whole head incl. the request line and the final empty line; over it: 431. */
  maxHeaderBytes: number;
  /** Number of field lines; over it: 431. */
  maxHeaderCount: number;
  /** Length of the request-target; over it: 414. */
  maxUrlBytes: number;
  /** A Content-Length above it: 413 at once. */
  maxBodyBytes: number;
}

/** A parsed request head. */
export interface RequestHead {
  /** The method token exactly as received. */
  method: string;
  /** The request-target exactly as received. */
  target: string;
  /** Form of the request-target (authority-form is never accepted). */
  form: "origin" | "absolute" | "asterisk";
  /** Path and query ("/" when absolute-form has none; "*" for asterisk-form). */
  path: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x minors). */
  versionMinor: 0 | 1;
  /** Flat [name, value, ...]; names as received, values without OWS. */
  headers: string[];
  /** Effective authority: absolute-form authority, else Host; "" if none. */
  host: string;
  /** Content-Length, -1 when absent. */
  contentLength: number;
  /** Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Whether the connection stays open after this exchange. */
  keepAlive: boolean;
  /** Expect: 100-continue on HTTP/1.1. */
  expectContinue: boolean;
  /** Bytes consumed from `start`, incl. skipped leading CRLFs and the empty line. */
  headBytes: number;
  /** The request line as received, for access logs. */
  requestLine: string;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const PERCENT = 0x25;
const SLASH = 0x2f;
const STAR = 0x2a;
const QUESTION = 0x3f;

/** RFC 9112 §2.2 lets a server skip empty lines before the request line; cap it. */
const MAX_LEADING_EMPTY_LINES = 8;

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

const L_HOST = ascii("host");
const L_EXPECT = ascii("expect");
const L_CONNECTION = ascii("connection");
const L_CONTENT_LENGTH = ascii("content-length");
const L_CONTENT_TYPE = ascii("content-type");
const L_TRANSFER_ENCODING = ascii("transfer-encoding");
const L_CHUNKED = ascii("chunked");
const L_100_CONTINUE = ascii("100-continue");
const L_HTTP = ascii("http://");
const L_HTTPS = ascii("https://");

const asciiDecoder = new TextDecoder();

/** Field spans [nameStart, nameEnd, valueStart, valueEnd] of the current call, reused across calls. */
let SPANS: Int32Array = new Int32Array(4 * 64);

function growSpans(spans: Int32Array): Int32Array {
  const bigger = new Int32Array(spans.length * 2);
  bigger.set(spans);
  return bigger;
}

/** A received value for an error message: quoted, escaped, at most 64 bytes. */
function quote(buf: Uint8Array, s: number, e: number): string {
  const shown = JSON.stringify(latin1(buf, s, Math.min(e, s + 64)));
  return e - s > 64 ? shown + "..." : shown;
}

function bad(message: string): HttpError {
  return new HttpError(400, "bad_request", message);
}

function hex(b: number | undefined): string {
  return `0x${(b ?? 0).toString(16).padStart(2, "0")}`;
}

/** The head is incomplete: null, unless it can no longer fit the limit. */
function incomplete(available: number, limits: ParseLimits): null {
  if (available >= limits.maxHeaderBytes) {
    throw new HttpError(
      431,
      "header_fields_too_large",
      `Request head exceeds ${limits.maxHeaderBytes} bytes`,
    );
  }
  return null;
}

/**
 * Parses one request head from buf[start, end). Call it again with more bytes
 * (same `start`) while it returns null; the body or the next pipelined request
 * starts at `start + headBytes`.
 *
 * @example Parse a head and find its body
 * ```ts
 * import { parseRequestHead } from "./_parser.ts";
 *
 * const buf = new TextEncoder().encode(
 *   "POST /items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\nhi",
 * );
 * const head = parseRequestHead(buf, 0, buf.length, {
 *   maxHeaderBytes: 16384,
 *   maxHeaderCount: 100,
 *   maxUrlBytes: 8192,
 *   maxBodyBytes: 1 << 20,
 * });
 * console.log(head?.path, head?.contentLength, head?.headBytes); // /items 2 62
 * ```
 *
 * @param buf The receive buffer.
 * @param start Offset of the first byte of the head (leading CRLFs allowed).
 * @param end Offset after the last received byte.
 * @param limits Size limits.
 * @returns The head, or null when more bytes are needed.
 * @throws {HttpError} On invalid input (also when incomplete input is already
 * certainly invalid or over a limit): 400, 413, 414, 417, 431, 501 or 505.
 * @throws {RangeError} If `start` and `end` are not offsets within `buf`.
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: ParseLimits,
): RequestHead | null {
  if (!(start >= 0 && start <= end && end <= buf.length)) {
    throw new RangeError(
      `Invalid range [${start}, ${end}) of a buffer of ${buf.length} bytes`,
    );
  }
  const available = end - start;
  const headLimit = start + limits.maxHeaderBytes;
  const scanEnd = end < headLimit ? end : headLimit;
  let p = start;

  // Leading empty lines.
  let emptyLines = 0;
  for (;;) {
    if (p >= scanEnd) return incomplete(available, limits);
    const b = buf[p];
    if (b !== CR) {
      if (b === LF) throw bad("Bare LF before the request line");
      break;
    }
    if (p + 1 >= scanEnd) return incomplete(available, limits);
    if (buf[p + 1] !== LF) throw bad("Bare CR before the request line");
    if (++emptyLines > MAX_LEADING_EMPTY_LINES) {
      throw bad(
        `More than ${MAX_LEADING_EMPTY_LINES} empty lines before the request line`,
      );
    }
    p += 2;
  }

  // method SP: no longer than the longest method served (RFC 9112 §3: 501),
  // so a long token is refused at once rather than buffered to the limit.
  const lineStart = p;
  const methodStop = lineStart + MAX_METHOD_BYTES + 1;
  const methodScanEnd = scanEnd < methodStop ? scanEnd : methodStop;
  while (p < methodScanEnd && TOKEN[buf[p]!] === 1) p++;
  if (p === methodStop) {
    throw new HttpError(
      501,
      "not_implemented",
      `Method ${quote(buf, lineStart, p)} is not supported`,
    );
  }
  if (p >= scanEnd) return incomplete(available, limits);
  if (p === lineStart) {
    throw bad(`Invalid byte ${hex(buf[p])} at the start of the request line`);
  }
  if (buf[p] !== SP) throw bad(`Invalid byte ${hex(buf[p])} in the method`);
  const methodEnd = p;
  p++;

  // request-target SP
  const targetStart = p;
  const urlStop = targetStart + limits.maxUrlBytes + 1;
  const targetScanEnd = scanEnd < urlStop ? scanEnd : urlStop;
  while (p < targetScanEnd && TARGET[buf[p]!] === 1) {
    if (buf[p] === PERCENT) {
      for (let i = 1; i <= 2; i++) {
        if (p + i >= scanEnd) return incomplete(available, limits);
        if (HEX_VALUE[buf[p + i]!] === 255) {
          throw bad("Invalid percent-encoding in the request-target");
        }
      }
      p += 2;
    }
    p++;
  }
  if (p - targetStart > limits.maxUrlBytes) {
    throw new HttpError(
      414,
      "uri_too_long",
      `Request-target exceeds ${limits.maxUrlBytes} bytes`,
    );
  }
  if (p >= scanEnd) return incomplete(available, limits);
  if (p === targetStart) {
    throw bad(`Invalid byte ${hex(buf[p])} at the start of the request-target`);
  }
  if (buf[p] !== SP) {
    if (buf[p] === CR || buf[p] === LF) {
      throw bad("Request line without an HTTP version");
    }
    throw bad(`Invalid byte ${hex(buf[p])} in the request-target`);
  }
  const targetEnd = p;
  p++;

  // HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT
  const versionStart = p;
  for (let i = 0; i < 10; i++, p++) {
    if (p >= scanEnd) return incomplete(available, limits);
    const b = buf[p]!;
    let ok: boolean;
    if (i < 5) ok = b === HTTP_SLASH[i];
    else if (i === 5 || i === 7) ok = b >= 0x30 && b <= 0x39;
    else if (i === 6) ok = b === 0x2e;
    else if (i === 8) ok = b === CR;
    else ok = b === LF;
    if (!ok) {
      if (i === 9) throw bad("Bare CR after the request line");
      throw bad(`Invalid byte ${hex(b)} in the HTTP version`);
    }
  }
  const major = buf[versionStart + 5]! - 0x30;
  const minor = buf[versionStart + 7]! - 0x30;
  if (major !== 1) {
    throw new HttpError(
      505,
      "version_not_supported",
      `HTTP version ${major}.${minor} is not supported`,
    );
  }
  // RFC 9110 §2.5: a later 1.x minor is served as the highest 1.x we support.
  const versionMinor: 0 | 1 = minor === 0 ? 0 : 1;

  const methodLen = methodEnd - lineStart;
  const method = knownMethod(buf, lineStart, methodLen);
  if (method === null) {
    throw new HttpError(
      501,
      "not_implemented",
      `Method ${quote(buf, lineStart, methodEnd)} is not supported`,
    );
  }
  if (method === "CONNECT") {
    throw new HttpError(
      501,
      "not_implemented",
      "Method CONNECT is not supported: this server is not a proxy",
    );
  }

  let form: RequestHead["form"];
  let authStart = targetStart;
  let authEnd = targetStart; // authority of an absolute-form target
  const t0 = buf[targetStart];
  if (t0 === SLASH) {
    form = "origin";
  } else if (t0 === STAR && targetEnd - targetStart === 1) {
    if (method !== "OPTIONS") {
      throw bad(`Asterisk-form request-target with method ${method}`);
    }
    form = "asterisk";
  } else {
    const tlen = targetEnd - targetStart;
    if (tlen > 7 && eqLower(buf, targetStart, L_HTTP)) {
      authStart = targetStart + 7;
    } else if (tlen > 8 && eqLower(buf, targetStart, L_HTTPS)) {
      authStart = targetStart + 8;
    } else {
      throw bad(
        `Invalid request-target ${quote(buf, targetStart, targetEnd)}`,
      );
    }
    authEnd = authStart;
    while (
      authEnd < targetEnd && buf[authEnd] !== SLASH &&
      buf[authEnd] !== QUESTION
    ) authEnd++;
    if (!validHost(buf, authStart, authEnd)) {
      throw bad(
        `Invalid authority in the request-target ${
          quote(buf, targetStart, targetEnd)
        }`,
      );
    }
    form = "absolute";
  }

  // Field lines: validated and framed on bytes; the strings are decoded once
  // the head is complete, so a head arriving in pieces costs no decoding.
  let spans = SPANS;
  let count = 0;
  let obsText = 0; // non-zero when some value holds a byte >= 0x80
  let hostStart = -1;
  let hostEnd = -1;
  let contentLength = -1;
  let clTooLarge = false;
  let teCount = 0;
  let chunked = false;
  let teUnknown = false; // a well-formed coding we do not implement (501)
  let teStart = 0;
  let teEnd = 0;
  let connection = 0; // CONNECTION_CLOSE | CONNECTION_KEEP_ALIVE
  let expectContinue = false;
  let contentType = false;
  let expectStart = -1;
  let expectEnd = -1;
  for (;;) {
    if (p >= scanEnd) return incomplete(available, limits);
    if (buf[p] === CR) {
      if (p + 1 >= scanEnd) return incomplete(available, limits);
      if (buf[p + 1] !== LF) throw bad("Bare CR in the header section");
      p += 2;
      break;
    }
    const nameStart = p;
    while (p < scanEnd && TOKEN[buf[p]!] === 1) p++;
    if (p >= scanEnd) return incomplete(available, limits);
    const c = buf[p];
    if (c !== COLON) {
      if (p === nameStart && (c === SP || c === HTAB)) {
        throw bad("Whitespace at the start of a field line (obs-fold)");
      }
      if (c === SP || c === HTAB) {
        throw bad(
          `Whitespace between the field name ${
            quote(buf, nameStart, p)
          } and the colon`,
        );
      }
      if (c === LF) throw bad("Bare LF in the header section");
      throw bad(`Invalid byte ${hex(c)} in a field name`);
    }
    if (p === nameStart) throw bad("Empty field name");
    if (count >= limits.maxHeaderCount) {
      throw new HttpError(
        431,
        "header_fields_too_large",
        `More than ${limits.maxHeaderCount} header fields`,
      );
    }
    const nameEnd = p;
    p++;
    while (p < scanEnd && (buf[p] === SP || buf[p] === HTAB)) p++;
    const valueStart = p;
    let v: number;
    while (p < scanEnd && (v = FIELD_VALUE[buf[p]!]!) !== 0) {
      obsText |= v;
      p++;
    }
    if (p >= scanEnd) return incomplete(available, limits);
    if (buf[p] !== CR) {
      throw bad(
        `Invalid byte ${hex(buf[p])} in the value of ${
          quote(buf, nameStart, nameEnd)
        }`,
      );
    }
    if (p + 1 >= scanEnd) return incomplete(available, limits);
    if (buf[p + 1] !== LF) throw bad("Bare CR in a field value");
    let valueEnd = p;
    while (
      valueEnd > valueStart &&
      (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)
    ) valueEnd--;
    p += 2;

    const k = count << 2;
    if (k + 4 > spans.length) spans = SPANS = growSpans(spans);
    spans[k] = nameStart;
    spans[k + 1] = nameEnd;
    spans[k + 2] = valueStart;
    spans[k + 3] = valueEnd;
    count++;

    switch (nameEnd - nameStart) {
      case 4:
        if (eqLower(buf, nameStart, L_HOST)) {
          if (hostStart !== -1) throw bad("More than one Host field");
          if (!validHost(buf, valueStart, valueEnd)) {
            throw bad(`Invalid Host ${quote(buf, valueStart, valueEnd)}`);
          }
          hostStart = valueStart;
          hostEnd = valueEnd;
        }
        break;
      case 6:
        if (eqLower(buf, nameStart, L_EXPECT)) {
          if (
            valueEnd - valueStart === 12 &&
            eqLower(buf, valueStart, L_100_CONTINUE)
          ) expectContinue = true;
          else if (valueEnd > valueStart) {
            expectStart = valueStart;
            expectEnd = valueEnd;
          }
        }
        break;
      case 10:
        if (eqLower(buf, nameStart, L_CONNECTION)) {
          connection |= connectionOptions(buf, valueStart, valueEnd);
        }
        break;
      case 12:
        // One media type per message (RFC 9110 §8.3): two leave it to each
        // reader which one applies.
        if (eqLower(buf, nameStart, L_CONTENT_TYPE)) {
          if (contentType) throw bad("More than one Content-Type field");
          contentType = true;
        }
        break;
      case 14:
        if (eqLower(buf, nameStart, L_CONTENT_LENGTH)) {
          if (contentLength !== -1 || clTooLarge) {
            throw bad("More than one Content-Length field");
          }
          if (valueEnd === valueStart) throw bad("Empty Content-Length");
          let q = valueStart;
          for (; q < valueEnd; q++) {
            const b = buf[q]!;
            if (b < 0x30 || b > 0x39) {
              throw bad(
                `Invalid Content-Length ${quote(buf, valueStart, valueEnd)}`,
              );
            }
          }
          q = valueStart;
          while (q < valueEnd - 1 && buf[q] === 0x30) q++; // decimal, never octal
          if (valueEnd - q > 15) {
            clTooLarge = true; // past 15 digits: certainly over any sane limit
          } else {
            let n = 0;
            for (; q < valueEnd; q++) n = n * 10 + (buf[q]! - 0x30);
            contentLength = n;
          }
        }
        break;
      case 17:
        if (eqLower(buf, nameStart, L_TRANSFER_ENCODING)) {
          if (++teCount > 1) throw bad("More than one Transfer-Encoding field");
          const len = valueEnd - valueStart;
          if (len === 7 && eqLower(buf, valueStart, L_CHUNKED)) {
            chunked = true;
          } else {
            const codings = transferCodings(buf, valueStart, valueEnd);
            chunked = codings === "chunked";
            teUnknown = codings === "unsupported";
            teStart = valueStart;
            teEnd = valueEnd;
          }
        }
        break;
    }
  }

  if (versionMinor === 1 && hostStart === -1) {
    throw bad("HTTP/1.1 request without a Host field");
  }
  if (teCount > 0) {
    if (contentLength !== -1 || clTooLarge) {
      throw bad("Both Transfer-Encoding and Content-Length");
    }
    if (versionMinor === 0) {
      throw bad("Transfer-Encoding in an HTTP/1.0 request");
    }
    if (!chunked) {
      if (teUnknown) {
        throw new HttpError(
          501,
          "not_implemented",
          `Transfer-Encoding ${quote(buf, teStart, teEnd)} is not supported`,
        );
      }
      throw bad(`Invalid Transfer-Encoding ${quote(buf, teStart, teEnd)}`);
    }
  }
  if (clTooLarge || contentLength > limits.maxBodyBytes) {
    throw new HttpError(
      413,
      "payload_too_large",
      `Content-Length exceeds ${limits.maxBodyBytes} bytes`,
    );
  }
  if (versionMinor === 1 && expectStart !== -1) {
    throw new HttpError(
      417,
      "expectation_failed",
      `Unsupported expectation ${quote(buf, expectStart, expectEnd)}`,
    );
  }

  // Decode: one TextDecoder call for an ASCII head (UTF-8 and latin1 agree on
  // ASCII) and substrings of it; latin1 per field when a value has obs-text.
  const headers: string[] = new Array(count << 1);
  let target: string;
  let requestLine: string;
  let host: string;
  if ((obsText & 2) === 0) {
    const text = asciiDecoder.decode(buf.subarray(lineStart, p));
    requestLine = text.slice(0, versionStart + 8 - lineStart);
    target = text.slice(targetStart - lineStart, targetEnd - lineStart);
    for (let i = 0, k = 0; i < count; i++, k += 4) {
      headers[i << 1] = text.slice(
        spans[k]! - lineStart,
        spans[k + 1]! - lineStart,
      );
      headers[(i << 1) + 1] = text.slice(
        spans[k + 2]! - lineStart,
        spans[k + 3]! - lineStart,
      );
    }
    host = form === "absolute"
      ? text.slice(authStart - lineStart, authEnd - lineStart)
      : hostStart === -1
      ? ""
      : text.slice(hostStart - lineStart, hostEnd - lineStart);
  } else {
    requestLine = latin1(buf, lineStart, versionStart + 8);
    target = requestLine.slice(targetStart - lineStart, targetEnd - lineStart);
    for (let i = 0, k = 0; i < count; i++, k += 4) {
      headers[i << 1] = latin1(buf, spans[k]!, spans[k + 1]!);
      headers[(i << 1) + 1] = latin1(buf, spans[k + 2]!, spans[k + 3]!);
    }
    host = form === "absolute"
      ? latin1(buf, authStart, authEnd)
      : hostStart === -1
      ? ""
      : latin1(buf, hostStart, hostEnd);
  }
  let path: string;
  if (form === "origin") path = target;
  else if (form === "asterisk") path = "*";
  else {
    const rest = target.slice(authEnd - targetStart);
    path = rest === ""
      ? "/"
      : rest.charCodeAt(0) === QUESTION
      ? "/" + rest
      : rest;
  }

  return {
    method,
    target,
    form,
    path,
    versionMinor,
    headers,
    host,
    contentLength,
    chunked,
    keepAlive: (connection & CONNECTION_CLOSE) === 0 &&
      (versionMinor === 1 || (connection & CONNECTION_KEEP_ALIVE) !== 0),
    expectContinue: versionMinor === 1 && expectContinue,
    headBytes: p - start,
    requestLine,
  };
}
