// Byte classes and byte-level recognisers for the HTTP/1.1 parsers. One
// Uint8Array(256) per class, so the hot loops do one indexed load per byte
// instead of range comparisons; recognisers work on bytes to avoid strings.

function table(
  chars: string,
  ranges: Array<[number, number]> = [],
): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  for (const [lo, hi] of ranges) t.fill(1, lo, hi + 1);
  return t;
}

const ALNUM: Array<[number, number]> = [[0x30, 0x39], [0x41, 0x5a], [
  0x61,
  0x7a,
]];

/** tchar (RFC 9110 §5.6.2): method, field name, coding and extension names. */
export const TOKEN: Uint8Array = table("!#$%&'*+-.^_`|~", ALNUM);

/**
 * Bytes allowed in a request-target: RFC 3986 unreserved, gen-delims except
 * "#" (a fragment is never sent), sub-delims and "%" (checked for two HEXDIG).
 */
export const TARGET: Uint8Array = table("-._~:/?[]@!$&'()*+,;=%", ALNUM);

/**
 * Bytes the WHATWG URL parser keeps unchanged in the path of an http(s)
 * URL, and in its query (there it percent-encodes "'").
 */
const URL_PATH_KEEPS = table("-._~:@!$&'()*+,;=%/", ALNUM);
const URL_QUERY_KEEPS = table("-._~:@!$&()*+,;=%/?", ALNUM);

/**
 * Whether the URL parser leaves the origin-form `path` (path and query of a
 * request-target that passed {@linkcode TARGET}) exactly as it is: no byte it
 * would encode and no segment it could read as a dot segment (any segment
 * starting with "." or "%2e" is left to the parser).
 */
export function keptByUrlParser(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 0x2f) return false;
  let i = 1;
  for (; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3f) break; // "?": the query
    if (c > 0x7e || URL_PATH_KEEPS[c] !== 1) return false;
    if (path.charCodeAt(i - 1) === 0x2f) {
      if (c === 0x2e) return false;
      if (
        c === 0x25 && path.charCodeAt(i + 1) === 0x32 &&
        (path.charCodeAt(i + 2) | 0x20) === 0x65
      ) return false;
    }
  }
  for (i++; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c > 0x7e || URL_QUERY_KEEPS[c] !== 1) return false;
  }
  return true;
}

/**
 * field-vchar / SP / HTAB (RFC 9110 §5.5): 1 for VCHAR, SP and HTAB, 2 for
 * obs-text (so a parser can tell whether a value is pure ASCII), 0 otherwise.
 */
export const FIELD_VALUE: Uint8Array = (() => {
  const t = table("\t ", [[0x21, 0x7e]]);
  t.fill(2, 0x80, 0x100);
  return t;
})();

/** reg-name bytes of a Host (RFC 3986 §3.2.2) minus ",", which smuggles lists. */
export const REG_NAME: Uint8Array = table("-._~!$&'()*+;=%", ALNUM);

/** Value of a HEXDIG byte, 255 for any other byte. */
export const HEX_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** qdtext of a quoted-string (RFC 9110 §5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text. */
export const QDTEXT: Uint8Array = table("\t !", [[0x23, 0x5b], [0x5d, 0x7e], [
  0x80,
  0xff,
]]);

/** Decodes buf[start, end) as latin1 (one char per byte, no replacement). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= 8192) {
    return String.fromCharCode.apply(
      null,
      buf.subarray(start, end) as unknown as number[],
    );
  }
  let s = "";
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return s;
}

/** Lowercase ASCII literal as bytes, for {@linkcode eqLower}. */
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * Compares buf[at, at + lit.length) case-insensitively with the lowercase ASCII
 * literal `lit`. `| 0x20` folds only letters here: the bytes it could confuse
 * with a literal's byte (CTLs) are rejected before any comparison.
 */
export function eqLower(buf: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let i = 0; i < lit.length; i++) {
    if ((buf[at + i]! | 0x20) !== lit[i]) return false;
  }
  return true;
}

/**
 * Validates uri-host [":" port] (RFC 9110 §7.2) in buf[s, e): a non-empty
 * reg-name (no ",", no "@"), an IPv4 address or an [IPv6] literal, then an
 * optional port of 1-5 digits up to 65535.
 */
export function validHost(buf: Uint8Array, s: number, e: number): boolean {
  let p = s;
  if (p >= e) return false;
  if (buf[p] === 0x5b) { // "[" IP-literal "]"
    p++;
    const lit = p;
    while (p < e && buf[p] !== 0x5d) {
      const b = buf[p]!;
      if (HEX_VALUE[b] === 255 && b !== 0x3a && b !== 0x2e) return false;
      p++;
    }
    if (p >= e || p === lit) return false;
    p++;
  } else {
    const name = p;
    while (p < e && REG_NAME[buf[p]!] === 1) {
      if (buf[p] === 0x25) {
        if (
          p + 2 >= e || HEX_VALUE[buf[p + 1]!] === 255 ||
          HEX_VALUE[buf[p + 2]!] === 255
        ) return false;
        p += 2;
      }
      p++;
    }
    if (p === name) return false;
  }
  if (p === e) return true;
  if (buf[p] !== 0x3a) return false;
  p++;
  const digits = e - p;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (; p < e; p++) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return port <= 65535;
}

/** The length of the longest method {@linkcode knownMethod} knows. */
export const MAX_METHOD_BYTES = 7;

/** Interned strings of the methods we serve; null for any other token. */
export function knownMethod(
  buf: Uint8Array,
  s: number,
  len: number,
): string | null {
  const b0 = buf[s];
  switch (len) {
    case 3:
      if (b0 === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) {
        return "GET";
      }
      if (b0 === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) {
        return "PUT";
      }
      return null;
    case 4:
      if (b0 === 0x50 && same(buf, s, "POST")) return "POST";
      if (b0 === 0x48 && same(buf, s, "HEAD")) return "HEAD";
      return null;
    case 5:
      if (b0 === 0x50 && same(buf, s, "PATCH")) return "PATCH";
      // TRACE is left out: Fetch forbids it in a Request, and echoing a
      // request leaks headers such as cookies; it gets 501 like any other.
      return null;
    case 6:
      return b0 === 0x44 && same(buf, s, "DELETE") ? "DELETE" : null;
    case 7:
      if (b0 === 0x4f && same(buf, s, "OPTIONS")) return "OPTIONS";
      if (b0 === 0x43 && same(buf, s, "CONNECT")) return "CONNECT";
      return null;
  }
  return null;
}

function same(buf: Uint8Array, s: number, lit: string): boolean {
  for (let i = 1; i < lit.length; i++) {
    if (buf[s + i] !== lit.charCodeAt(i)) return false;
  }
  return true;
}

/** Bit of {@linkcode connectionOptions}: the list holds `close`. */
export const CONNECTION_CLOSE = 1;
/** Bit of {@linkcode connectionOptions}: the list holds `keep-alive`. */
export const CONNECTION_KEEP_ALIVE = 2;
const L_CLOSE = ascii("close");
const L_KEEP_ALIVE = ascii("keep-alive");

/**
 * Scans a Connection value buf[s, e) (#connection-option, case-insensitive)
 * for `close` and `keep-alive`; other options are left to the caller.
 */
export function connectionOptions(
  buf: Uint8Array,
  s: number,
  e: number,
): number {
  let found = 0;
  let q = s;
  while (q <= e) {
    let end = q;
    while (end < e && buf[end] !== 0x2c) end++;
    let a = q;
    let b = end;
    while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++;
    while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
    if (b - a === 5 && eqLower(buf, a, L_CLOSE)) found |= CONNECTION_CLOSE;
    else if (b - a === 10 && eqLower(buf, a, L_KEEP_ALIVE)) {
      found |= CONNECTION_KEEP_ALIVE;
    }
    q = end + 1;
  }
  return found;
}

/** What a Transfer-Encoding field value asks of a server that knows chunked. */
export type TransferCodings = "chunked" | "unsupported" | "invalid";

function isOws(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

/**
 * Classifies a Transfer-Encoding list (RFC 9112 §6.1, RFC 9110 §10.1.4):
 * `"chunked"` when chunked is the only coding; `"unsupported"` (501) for a
 * well-formed list with another coding and chunked last, or without chunked
 * (a coding we do not implement); `"invalid"` (400) for anything else: an
 * empty element, a byte outside a token, chunked twice, chunked not last or
 * with parameters, or `identity`, which RFC 9112 removed. Coding names are
 * case-insensitive; a coding's parameters are checked only for shape.
 */
export function transferCodings(
  buf: Uint8Array,
  start: number,
  end: number,
): TransferCodings {
  let sawChunked = false;
  let other = false;
  let p = start;
  for (;;) {
    while (p < end && isOws(buf[p]!)) p++;
    const nameStart = p;
    while (p < end && TOKEN[buf[p]!] === 1) p++;
    const nameEnd = p;
    if (nameEnd === nameStart) return "invalid";
    if (sawChunked) return "invalid"; // chunked was not the last coding
    const len = nameEnd - nameStart;
    const isChunked = len === 7 && lowerIs(buf, nameStart, "chunked");
    if (len === 8 && lowerIs(buf, nameStart, "identity")) return "invalid";
    while (p < end && isOws(buf[p]!)) p++;
    let params = false;
    while (p < end && buf[p] === 0x3b) { // ";" transfer-parameter
      params = true;
      p++;
      while (p < end && isOws(buf[p]!)) p++;
      const s = p;
      while (p < end && TOKEN[buf[p]!] === 1) p++;
      if (p === s || buf[p] !== 0x3d) return "invalid"; // name "="
      p++;
      const v = p;
      while (p < end && TOKEN[buf[p]!] === 1) p++;
      if (p === v) return "invalid"; // quoted values are not accepted
      while (p < end && isOws(buf[p]!)) p++;
    }
    if (isChunked) {
      if (params) return "invalid";
      sawChunked = true;
    } else other = true;
    if (p === end) break;
    if (buf[p] !== 0x2c) return "invalid"; // ","
    p++;
  }
  if (!sawChunked || other) return "unsupported";
  return "chunked";
}

function lowerIs(buf: Uint8Array, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
