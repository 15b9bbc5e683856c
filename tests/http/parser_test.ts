import assert from "node:assert/strict";
import { HttpError } from "../../http/errors.ts";
import {
  type ParseLimits,
  parseRequestHead,
  type RequestHead,
} from "../../http/_parser.ts";
import { ChunkedDecoder, type ChunkedLimits } from "../../http/_chunked.ts";

const LIMITS: ParseLimits = {
  maxHeaderBytes: 16384,
  maxHeaderCount: 100,
  maxUrlBytes: 8192,
  maxBodyBytes: 1_000_000,
};

const CHUNKED_LIMITS: ChunkedLimits = {
  maxBodyBytes: 1_000_000,
  maxTrailerBytes: 4096,
  maxTrailerCount: 16,
  maxChunkExtBytes: 256,
};

/** Bytes of a string, one byte per char (latin1), so tests can send any byte. */
function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Parses a whole string as one buffer. */
function parse(
  s: string,
  limits: ParseLimits = LIMITS,
): RequestHead | null {
  const b = bytes(s);
  return parseRequestHead(b, 0, b.length, limits);
}

/** Parses and asserts a complete head. */
function head(s: string, limits: ParseLimits = LIMITS): RequestHead {
  const h = parse(s, limits);
  assert.notEqual(h, null, `expected a complete head for ${JSON.stringify(s)}`);
  return h!;
}

/** Asserts that parsing `s` throws an HttpError with `status` (and `code`). */
function rejects(
  s: string,
  status: number,
  code?: string,
  limits: ParseLimits = LIMITS,
): HttpError {
  let error: unknown;
  try {
    const h = parse(s, limits);
    assert.fail(
      `expected ${status} for ${JSON.stringify(s)}, got ${JSON.stringify(h)}`,
    );
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
  assert.equal(error.status, status, `${JSON.stringify(s)}: ${error.message}`);
  if (code !== undefined) assert.equal(error.code, code);
  return error;
}

/** Result of decoding a chunked body. */
interface Decoded {
  body: string;
  used: number;
  trailers: string[];
  done: boolean;
}

/**
 * Decodes `s` with a fresh ChunkedDecoder, fed in pieces ending at `cuts`
 * (each piece continues where the decoder stopped), then the rest.
 */
function decodeChunked(
  s: string,
  cuts: number[] = [],
  limits: ChunkedLimits = CHUNKED_LIMITS,
): Decoded {
  const b = bytes(s);
  const decoder = new ChunkedDecoder(limits);
  let body = "";
  let used = 0;
  const onData = (d: Uint8Array) => {
    body += String.fromCharCode(...d);
  };
  for (const cut of [...cuts, b.length]) {
    if (decoder.done) break;
    used += decoder.decode(b, used, Math.max(used, cut), onData);
  }
  assert.equal(decoder.bodyBytes, body.length);
  return { body, used, trailers: decoder.trailers, done: decoder.done };
}

/** Asserts that decoding `s` (in the given pieces) throws `status`. */
function chunkedRejects(
  s: string,
  status: number,
  cuts: number[] = [],
  limits: ChunkedLimits = CHUNKED_LIMITS,
): HttpError {
  let error: unknown;
  try {
    const r = decodeChunked(s, cuts, limits);
    assert.fail(
      `expected ${status} for ${JSON.stringify(s)}, got ${JSON.stringify(r)}`,
    );
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
  assert.equal(error.status, status, `${JSON.stringify(s)}: ${error.message}`);
  return error;
}

const H = "Host: a\r\n";

// ---- Normal requests -------------------------------------------------------

Deno.test("parseRequestHead() parses a typical browser GET", () => {
  const raw = "GET /search?q=deno&lang=en HTTP/1.1\r\n" +
    "Host: example.com:8443\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\n" +
    "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.5\r\n" +
    "Accept-Encoding: gzip, deflate, br\r\n" +
    "Connection: keep-alive\r\n" +
    "Cookie: a=1; b=2\r\n" +
    "\r\n";
  const h = head(raw);
  assert.equal(h.method, "GET");
  assert.equal(h.target, "/search?q=deno&lang=en");
  assert.equal(h.form, "origin");
  assert.equal(h.path, "/search?q=deno&lang=en");
  assert.equal(h.versionMinor, 1);
  assert.equal(h.host, "example.com:8443");
  assert.equal(h.contentLength, -1);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
  assert.equal(h.expectContinue, false);
  assert.equal(h.headBytes, raw.length);
  assert.equal(h.requestLine, "GET /search?q=deno&lang=en HTTP/1.1");
  assert.deepEqual(h.headers, [
    "Host",
    "example.com:8443",
    "User-Agent",
    "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
    "Accept",
    "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    "Accept-Language",
    "en-US,en;q=0.5",
    "Accept-Encoding",
    "gzip, deflate, br",
    "Connection",
    "keep-alive",
    "Cookie",
    "a=1; b=2",
  ]);
});

Deno.test("parseRequestHead() serves every implemented method", () => {
  for (
    const m of [
      "GET",
      "HEAD",
      "POST",
      "PUT",
      "DELETE",
      "OPTIONS",
      "PATCH",
    ]
  ) {
    const h = head(`${m} /x HTTP/1.1\r\n${H}\r\n`);
    assert.equal(h.method, m);
  }
});

Deno.test("parseRequestHead() parses at an offset and ignores bytes after `end`", () => {
  const b = bytes(`xxxxGET /a HTTP/1.1\r\n${H}\r\nGARBAGE`);
  const h = parseRequestHead(b, 4, b.length - 7, LIMITS);
  assert.equal(h?.path, "/a");
  assert.equal(h?.headBytes, b.length - 11);
  assert.equal(parseRequestHead(b, 4, b.length - 8, LIMITS), null);
});

Deno.test("parseRequestHead() returns null for every strict prefix of a valid head", () => {
  const raw = `POST /p?x=%41 HTTP/1.1\r\n${H}Content-Length: 3\r\nX: y\r\n\r\n`;
  for (let i = 0; i < raw.length; i++) {
    assert.equal(parse(raw.slice(0, i)), null, `prefix of ${i} bytes`);
  }
  assert.equal(head(raw).headBytes, raw.length);
});

Deno.test("parseRequestHead() keeps a Content-Length body and a pipelined request out of headBytes", () => {
  const first = `PUT /a HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`;
  const raw = first + "AAAPUT /b HTTP/1.1\r\n" + H + "\r\n";
  const b = bytes(raw);
  const h1 = parseRequestHead(b, 0, b.length, LIMITS)!;
  assert.equal(h1.headBytes, first.length);
  assert.equal(h1.contentLength, 3);
  const body = String.fromCharCode(
    ...b.subarray(h1.headBytes, h1.headBytes + 3),
  );
  assert.equal(body, "AAA");
  const h2 = parseRequestHead(b, h1.headBytes + 3, b.length, LIMITS)!;
  assert.equal(h2.path, "/b");
  assert.equal(h1.headBytes + 3 + h2.headBytes, b.length);
});

Deno.test("parseRequestHead() keeps header names as received and values byte-exact (obs-text)", () => {
  const h = head(`GET / HTTP/1.1\r\n${H}x-CuStOm: caf\xe9 \x80\xff ok\r\n\r\n`);
  assert.deepEqual(h.headers.slice(2), ["x-CuStOm", "caf\xe9 \x80\xff ok"]);
  assert.equal(h.requestLine, "GET / HTTP/1.1");
  assert.equal(h.host, "a");
  const abs = head("GET http://b:81?x HTTP/1.0\r\nX: \xe9\r\n\r\n");
  assert.equal(abs.host, "b:81");
  assert.equal(abs.path, "/?x");
  assert.equal(abs.target, "http://b:81?x");
  assert.deepEqual(abs.headers, ["X", "\xe9"]);
});

Deno.test("parseRequestHead() accepts an empty field value", () => {
  assert.deepEqual(
    head(`GET / HTTP/1.1\r\n${H}X-Empty:\r\nY:   \r\n\r\n`).headers.slice(2),
    [
      "X-Empty",
      "",
      "Y",
      "",
    ],
  );
});

Deno.test("parseRequestHead() matches framing and routing field names case-insensitively", () => {
  const h = head(
    "POST / HTTP/1.1\r\nhOsT: b\r\ncontent-LENGTH: 4\r\nCONNECTION: Close\r\n\r\n",
  );
  assert.equal(h.host, "b");
  assert.equal(h.contentLength, 4);
  assert.equal(h.keepAlive, false);
});

Deno.test("parseRequestHead() accepts percent-encoding and the URL character set", () => {
  const target = "/a-b._~:@!$&'()*+,;=/%2F%c3%a9?x=[1]&y=/?";
  assert.equal(head(`GET ${target} HTTP/1.1\r\n${H}\r\n`).target, target);
  rejects(`GET /%zz HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`GET /%a HTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() rejects a fragment in the request-target with 400", () => {
  rejects(`GET /a#frag HTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() accepts Host forms: name, port, IPv4 and IPv6 literals", () => {
  for (
    const host of [
      "localhost",
      "a.b-c_d~e",
      "a:8080",
      "127.0.0.1:443",
      "[::1]",
      "[::1]:8443",
      "xn--caf-dma.example",
      "%41b",
    ]
  ) {
    assert.equal(head(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`).host, host);
  }
});

Deno.test("parseRequestHead() treats HTTP/1.0 as close unless it asks for keep-alive", () => {
  assert.equal(head("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(
    head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive,
    true,
  );
  assert.equal(
    head("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keepAlive,
    false,
  );
  assert.equal(head("GET / HTTP/1.0\r\n\r\n").versionMinor, 0);
});

Deno.test("parseRequestHead() treats a later HTTP/1.x minor as HTTP/1.1", () => {
  const h = head(`GET / HTTP/1.2\r\n${H}\r\n`);
  assert.equal(h.versionMinor, 1);
  assert.equal(h.keepAlive, true);
  assert.equal(h.requestLine, "GET / HTTP/1.2");
});

Deno.test("parseRequestHead() rejects a method that is not a token with 400", () => {
  rejects(`GE@T / HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`GE(T / HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(` GET / HTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() rejects binary garbage and a TLS ClientHello at once with 400", () => {
  rejects("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400);
  rejects("\x00\x00\x00\x00", 400);
});

Deno.test("parseRequestHead() answers the HTTP/2 preface with 505 as soon as its request line is in", () => {
  rejects("PRI * HTTP/2.0\r\n", 505, "version_not_supported");
  rejects("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
});

// ---- A. Request line ----------------------------------------------------------

Deno.test("parseRequestHead() skips up to 8 leading empty lines (#1)", () => {
  const h = head(`\r\nGET / HTTP/1.1\r\n${H}\r\n`);
  assert.equal(h.headBytes, 2 + `GET / HTTP/1.1\r\n${H}\r\n`.length);
  assert.equal(h.requestLine, "GET / HTTP/1.1");
  assert.equal(
    head(`${"\r\n".repeat(8)}GET / HTTP/1.1\r\n${H}\r\n`).method,
    "GET",
  );
  rejects(`${"\r\n".repeat(9)}GET / HTTP/1.1\r\n${H}\r\n`, 400);
  assert.equal(parse("\r\n\r\n"), null);
  rejects("\r\r\n", 400);
  rejects("\nGET / HTTP/1.1\r\n", 400);
});

Deno.test("parseRequestHead() rejects two spaces in the request line with 400 (#2)", () => {
  rejects(`GET  / HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`GET /  HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`GET / HTTP/1.1 \r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() rejects a tab in the request line with 400 (#3)", () => {
  rejects(`GET\t/ HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`GET /\tHTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() rejects whitespace inside the request-target with 400 (#4)", () => {
  rejects(`GET /foo bar/ HTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() rejects a bare LF ending the request line with 400 (#5)", () => {
  rejects("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\n", 400);
});

Deno.test("parseRequestHead() rejects a bare CR ending the request line with 400 (#6)", () => {
  rejects("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
});

Deno.test("parseRequestHead() answers an unsupported major version with 505 (#7)", () => {
  rejects(`GET / HTTP/9.9\r\n${H}\r\n`, 505, "version_not_supported");
  rejects(`GET / HTTP/2.0\r\n${H}\r\n`, 505);
  rejects(`GET / HTTP/0.9\r\n${H}\r\n`, 505);
});

Deno.test("parseRequestHead() rejects a malformed HTTP version with 400 (#8)", () => {
  for (
    const v of [
      "http/1.1",
      "HTTP/1",
      "HTTP/01.1",
      "HTTP/ 1.1",
      "HTTP/1.1.1",
      "HTTP/1.x",
      "HTTP/11",
      "HTTPS/1.1",
    ]
  ) {
    rejects(`GET / ${v}\r\n${H}\r\n`, 400);
  }
});

Deno.test("parseRequestHead() rejects an HTTP/0.9 request line with 400 (#9)", () => {
  rejects("GET /\r\n\r\n", 400);
  rejects("GET /\r\n", 400);
});

Deno.test("parseRequestHead() answers a lowercase method with 501, never routes it as GET (#10)", () => {
  rejects(`get / HTTP/1.1\r\n${H}\r\n`, 501, "not_implemented");
  rejects(`Get / HTTP/1.1\r\n${H}\r\n`, 501);
});

Deno.test("parseRequestHead() answers an unknown well-formed method with 501 (#11)", () => {
  rejects(`FOOBAR / HTTP/1.1\r\n${H}\r\n`, 501, "not_implemented");
  rejects(`PROPFIND / HTTP/1.1\r\n${H}\r\n`, 501);
  const long = rejects(`${"X".repeat(10_000)} / HTTP/1.1\r\n${H}\r\n`, 501);
  assert.ok(long.message.length < 120, "error message echoes at most 64 bytes");
});

Deno.test("parseRequestHead() answers a method longer than any served with 501 before the line ends", () => {
  // RFC 9112 §3: 501; decided after 8 bytes, not buffered up to the head limit.
  const err = rejects("A".repeat(8), 501, "not_implemented");
  assert.match(err.message, /Method "AAAAAAAA" is not supported/);
  rejects(`${"A".repeat(100_000)} / HTTP/1.1\r\n${H}\r\n`, 501);
  // The longest methods served still parse, and shorter prefixes wait.
  assert.equal(head(`OPTIONS / HTTP/1.1\r\n${H}\r\n`).method, "OPTIONS");
  assert.equal(parse("OPTIONS"), null);
});

Deno.test("parseRequestHead() rejects a repeated Content-Type with 400", () => {
  const err = rejects(
    `POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 2\r\n` +
      `content-type: application/json\r\n\r\n`,
    400,
  );
  assert.match(err.message, /More than one Content-Type/);
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\n\r\n`).headers[3],
    "text/plain",
  );
});

Deno.test("parseRequestHead() accepts absolute-form and lets its authority win over Host (#12)", () => {
  const h = head("GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n");
  assert.equal(h.form, "absolute");
  assert.equal(h.host, "a");
  assert.equal(h.path, "/x");
  assert.equal(h.target, "http://a/x");
  const s = head("GET HTTPS://a.example:8443?q=1 HTTP/1.1\r\nHost: b\r\n\r\n");
  assert.equal(s.host, "a.example:8443");
  assert.equal(s.path, "/?q=1");
  assert.equal(head("GET http://a HTTP/1.1\r\nHost: a\r\n\r\n").path, "/");
  rejects("GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET http://a/x HTTP/1.1\r\n\r\n", 400);
});

Deno.test("parseRequestHead() accepts asterisk-form only with OPTIONS, else 400 (#13)", () => {
  const h = head(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
  assert.equal(h.form, "asterisk");
  assert.equal(h.path, "*");
  rejects(`GET * HTTP/1.1\r\n${H}\r\n`, 400);
  rejects(`OPTIONS *x HTTP/1.1\r\n${H}\r\n`, 400);
});

Deno.test("parseRequestHead() answers CONNECT with 501 and rejects authority-form with 400 (#14)", () => {
  rejects(
    "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    501,
    "not_implemented",
  );
  rejects("GET a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400);
  rejects("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
});

Deno.test("parseRequestHead() answers TRACE with 501, a method no Request can carry", () => {
  rejects(`TRACE / HTTP/1.1\r\n${H}\r\n`, 501, "not_implemented");
  rejects(`TRACK / HTTP/1.1\r\n${H}\r\n`, 501, "not_implemented");
});

Deno.test("parseRequestHead() answers a request-target over maxUrlBytes with 414 (#15)", () => {
  const ok = "/" + "a".repeat(8191);
  assert.equal(head(`GET ${ok} HTTP/1.1\r\n${H}\r\n`).target.length, 8192);
  const long = "/" + "a".repeat(10_000);
  rejects(`GET ${long} HTTP/1.1\r\n${H}\r\n`, 414, "uri_too_long");
  // Known to be too long before the request line ends.
  rejects(`GET ${long}`, 414);
  rejects(`GET /${"b".repeat(9)} HTTP/1.1\r\n`, 414, undefined, {
    ...LIMITS,
    maxUrlBytes: 8,
  });
});

Deno.test("parseRequestHead() rejects bytes outside the URI character set with 400 (#16)", () => {
  for (
    const t of [
      "/\xc0\xaf",
      "/\x00",
      "/caf\xe9",
      "/\x7f",
      '/a"b',
      "/<",
      "/>",
      "/\\",
      "/^",
      "/`",
      "/{",
      "/|",
      "/}",
      "/\x1b",
    ]
  ) {
    rejects(`GET ${t} HTTP/1.1\r\n${H}\r\n`, 400);
  }
});

// ---- B. Header fields ---------------------------------------------------------

Deno.test("parseRequestHead() rejects HTTP/1.1 without Host with 400 and serves HTTP/1.0 without it (#17)", () => {
  rejects("GET / HTTP/1.1\r\n\r\n", 400);
  const h = head("GET / HTTP/1.0\r\n\r\n");
  assert.equal(h.host, "");
});

Deno.test("parseRequestHead() rejects more than one Host line with 400, even when equal (#18)", () => {
  rejects("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400);
});

Deno.test("parseRequestHead() rejects an invalid Host value with 400 (#19)", () => {
  for (
    const v of [
      "a, b",
      "user@a",
      "a/path",
      "",
      "a:",
      "a:99999",
      "a:8o",
      "a:123456",
      "[::1",
      "[]",
      "a b",
      "[::1]x",
      "a:1:2",
    ]
  ) {
    rejects(`GET / HTTP/1.1\r\nHost: ${v}\r\n\r\n`, 400);
  }
});

Deno.test("parseRequestHead() rejects whitespace before the colon with 400 (#20)", () => {
  rejects(`GET / HTTP/1.1\r\n${H}X-Test : v\r\n\r\n`, 400);
  rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}X-Test\t: v\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() rejects obs-fold with 400 (#21)", () => {
  rejects(`GET / HTTP/1.1\r\n${H}X-Test: value\r\n continued\r\n\r\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}X-Test: value\r\n\tcontinued\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() rejects whitespace before the first field line with 400 (#22)", () => {
  rejects("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", 400);
});

Deno.test("parseRequestHead() rejects a field name that is not a token with 400 (#23)", () => {
  for (
    const line of [
      ": value",
      "Fo@: x",
      "Foo\x01: x",
      "X-Invalid[]: t",
      "Caf\xe9: x",
      "X\x7f: y",
      "NoColon",
    ]
  ) {
    rejects(`GET / HTTP/1.1\r\n${H}${line}\r\n\r\n`, 400);
  }
});

Deno.test("parseRequestHead() rejects a bare CR or NUL in a field value with 400 (#24)", () => {
  rejects(`GET / HTTP/1.1\r\n${H}Foo: 1\rBar: 2\r\n\r\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}Foo: a\x00b\r\n\r\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}Foo: 1\r\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() rejects a bare LF inside the header block with 400 (#25)", () => {
  rejects(`GET / HTTP/1.1\r\n${H}Dummy: x\nContent-Length: 23\r\n\r\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}\n`, 400);
  rejects(`GET / HTTP/1.1\r\n${H}Dummy: x\r\n\n`, 400);
});

Deno.test("parseRequestHead() rejects control characters in a field value with 400 (#26)", () => {
  for (
    const v of ["hello\fworld", "test\x07", "a\x0bb", "del\x7f", "esc\x1b"]
  ) {
    rejects(`GET / HTTP/1.1\r\n${H}X: ${v}\r\n\r\n`, 400);
  }
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}X: a\tb\r\n\r\n`).headers[3],
    "a\tb",
  );
});

Deno.test("parseRequestHead() returns null for an incomplete head, never dispatches early (#27)", () => {
  assert.equal(parse(`GET / HTTP/1.1\r\n${H}X-Test: v`), null);
  assert.equal(parse(`GET / HTTP/1.1\r\n${H}X-Test: v\r\n`), null);
  assert.equal(parse(`GET / HTTP/1.1\r\n${H}X-Test: v\r\n\r`), null);
  assert.equal(parse(""), null);
});

Deno.test("parseRequestHead() answers too many or too large header fields with 431 (#28)", () => {
  const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join("");
  rejects(`GET / HTTP/1.1\r\n${H}${many}\r\n`, 431, "header_fields_too_large");
  // Over the count before the head is complete.
  rejects(`GET / HTTP/1.1\r\n${H}${many}`, 431);
  const hundred = Array.from({ length: 99 }, (_, i) => `X-${i}: v\r\n`).join(
    "",
  );
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}${hundred}\r\n`).headers.length,
    200,
  );
  rejects(`GET / HTTP/1.1\r\n${H}X: ${"v".repeat(100_000)}\r\n\r\n`, 431);
  rejects(`GET / HTTP/1.1\r\n${H}${"N".repeat(100_000)}: v\r\n\r\n`, 431);
  // Incomplete but already over the byte limit.
  rejects(`GET / HTTP/1.1\r\n${H}X: ${"v".repeat(16_400)}`, 431);
  // Exactly at the limit is fine; one byte more is not.
  const base = `GET / HTTP/1.1\r\n${H}X: \r\n\r\n`;
  const exact = `GET / HTTP/1.1\r\n${H}X: ${
    "v".repeat(100 - base.length)
  }\r\n\r\n`;
  const small = { ...LIMITS, maxHeaderBytes: 100 };
  assert.equal(head(exact, small).headBytes, 100);
  rejects(exact.replace("X: ", "X: v"), 431, undefined, small);
});

Deno.test("parseRequestHead() strips OWS around field values (#29)", () => {
  const h = head(
    `GET / HTTP/1.1\r\n${H}Header2:\t Value2\r\nX: value \t\r\nY:  in ner  \r\n\r\n`,
  );
  assert.deepEqual(h.headers.slice(2), [
    "Header2",
    "Value2",
    "X",
    "value",
    "Y",
    "in ner",
  ]);
});

// ---- C. Content-Length -----------------------------------------------------------

Deno.test("parseRequestHead() frames a Content-Length body and leaves the next request (#30)", () => {
  const first = `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`;
  const h = head(first + "hello" + "GET / HTTP/1.1\r\n");
  assert.equal(h.contentLength, 5);
  assert.equal(h.headBytes, first.length);
  assert.equal(h.chunked, false);
});

Deno.test("parseRequestHead() rejects differing Content-Length values with 400 (#31)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`,
    400,
  );
  rejects(`POST / HTTP/1.1\r\n${H}Content-Length: 1, 2\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() rejects repeated equal Content-Length values with 400 (#32)", () => {
  rejects(`POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\n`, 400);
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`,
    400,
  );
});

Deno.test("parseRequestHead() rejects a Content-Length that is not 1*DIGIT with 400 (#33)", () => {
  for (
    const v of [
      "-1",
      "+5",
      "0x5",
      "5_0",
      "4 2",
      "abc",
      "",
      "5.0",
      "1e3",
      "\u00b9",
    ]
  ) {
    rejects(`POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\n`, 400);
  }
});

Deno.test("parseRequestHead() answers an overflowing Content-Length with 413, never wraps (#34)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000000000\r\n\r\n`,
    413,
    "payload_too_large",
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 18446744073709551617\r\n\r\n`,
    413,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740993\r\n\r\n`,
    413,
    undefined,
    {
      ...LIMITS,
      maxBodyBytes: Number.MAX_SAFE_INTEGER,
    },
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: -123456789123456789123456789\r\n\r\n`,
    400,
  );
});

Deno.test("parseRequestHead() reads leading zeros in Content-Length as decimal (#35)", () => {
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\n`).contentLength,
    3,
  );
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length: 00\r\n\r\n`).contentLength,
    0,
  );
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length: 010\r\n\r\n`).contentLength,
    10,
  );
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length: ${"0".repeat(40)}7\r\n\r\n`)
      .contentLength,
    7,
  );
  rejects(`POST / HTTP/1.1\r\n${H}Content-Length: 0o5\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() strips OWS around Content-Length (#36)", () => {
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length:  42 \r\n\r\n`).contentLength,
    42,
  );
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length:\t42\t\r\n\r\n`).contentLength,
    42,
  );
});

Deno.test("parseRequestHead() answers a Content-Length over maxBodyBytes with 413 at once (#37)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 999999999\r\n\r\n`,
    413,
    "payload_too_large",
  );
  assert.equal(
    head(`POST / HTTP/1.1\r\n${H}Content-Length: 1000000\r\n\r\n`)
      .contentLength,
    1_000_000,
  );
  rejects(`POST / HTTP/1.1\r\n${H}Content-Length: 1000001\r\n\r\n`, 413);
});

Deno.test("parseRequestHead() reports the announced length of an under-sent body (#38)", () => {
  const first = `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n`;
  const h = head(first + "abc");
  assert.equal(h.contentLength, 10);
  assert.equal(h.headBytes, first.length);
});

// ---- D. Transfer-Encoding and chunked -----------------------------------------------------

Deno.test("parseRequestHead() rejects Transfer-Encoding together with Content-Length with 400 (#39)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    400,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n`,
    400,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nContent-Length: 6\r\n\r\n`,
    400,
  );
});

Deno.test("parseRequestHead() rejects chunked not last and identity with 400, an unknown coding with 501 (#40)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
    501,
    "not_implemented",
  );
  rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: pigeons\r\n\r\n`, 501);
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunkedchunked\r\n\r\n`,
    501,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
    400,
  );
  // chunked last, but a coding before it that this server does not decode.
  for (
    const v of ["gzip, chunked", "GZIP ,chunked", "gzip;level=1, chunked"]
  ) {
    rejects(
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`,
      501,
      "not_implemented",
    );
  }
  for (
    const v of [
      "gzip,, chunked",
      "gzip chunked",
      "identity, chunked",
      "gzip;level, chunked",
      "chunked, chunked, gzip",
    ]
  ) {
    rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`, 400);
  }
  rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, 400);
  rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`, 400);
  const h = head(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:  ChUnKeD \r\n\r\n`);
  assert.equal(h.chunked, true);
  assert.equal(h.contentLength, -1);
});

Deno.test("parseRequestHead() rejects chunked applied twice with 400 (#41)", () => {
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`,
    400,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`,
    400,
  );
});

Deno.test("parseRequestHead() rejects obfuscated Transfer-Encoding values with 400 (#42)", () => {
  for (
    const v of [
      "\x0bchunked",
      "chunked\x00",
      ",chunked",
      "chunked,",
      "",
      '"chunked"',
      "chunked\x0c",
    ]
  ) {
    rejects(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n`, 400);
  }
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding:  chunked \r\nContent-Length: 5\r\n\r\n`,
    400,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\nContent-Length: 5\r\n\r\n`,
    400,
  );
});

Deno.test("parseRequestHead() rejects Transfer-Encoding in an HTTP/1.0 request with 400 (#43)", () => {
  rejects("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
});

/** Parses a head, then decodes its chunked body fed in the given pieces. */
function message(
  raw: string,
  cuts: number[] = [],
): { h: RequestHead } & Decoded {
  const h = head(raw);
  assert.equal(h.chunked, true);
  assert.equal(h.contentLength, -1);
  const d = decodeChunked(raw.slice(h.headBytes), cuts);
  return { h, ...d };
}
const TE = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;

Deno.test("parseRequestHead() and ChunkedDecoder hand over a normal chunked body (#44)", () => {
  const m = message(
    TE + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
  );
  assert.equal(m.h.headBytes, TE.length);
  assert.equal(m.body, "hello world");
  assert.equal(m.used, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".length);
  assert.equal(
    message(TE + "A\r\n0123456789\r\na\r\nabcdefghij\r\n000\r\n\r\n").body
      .length,
    20,
  );
});

Deno.test("parseRequestHead() and ChunkedDecoder reject a chunk size that is not 1*HEXDIG (#45)", () => {
  for (const size of ["0x5", "+5", "-1", " 5", "5_0", "FFFFFFFFFFFFFFFFFF"]) {
    chunkedRejects(`${size}\r\nhello\r\n0\r\n\r\n`, 400);
  }
});

Deno.test("parseRequestHead() and ChunkedDecoder reject trailing whitespace after a chunk size (#46)", () => {
  chunkedRejects("5 \r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\t\r\nhello\r\n0\r\n\r\n", 400);
});

Deno.test("parseRequestHead() and ChunkedDecoder check chunk extensions (#47)", () => {
  assert.equal(message(TE + "5;ext=val\r\nhello\r\n0\r\n\r\n").body, "hello");
  assert.equal(
    message(TE + '5;a="q \\"x\\""\r\nhello\r\n0\r\n\r\n').body,
    "hello",
  );
  chunkedRejects("5;\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5;a b\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects(`5;a=${"x".repeat(65_536)}\r\nhello\r\n0\r\n\r\n`, 400);
});

Deno.test("parseRequestHead() and ChunkedDecoder require CRLF after the size and the data (#48)", () => {
  chunkedRejects("5\r\r;ABCD\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\r\nABCDE0\r\n\r\n", 400);
});

Deno.test("parseRequestHead() and ChunkedDecoder keep trailers apart from the headers (#49)", () => {
  const m = message(
    TE +
      "0\r\nX-Trailer: v\r\nContent-Length: 5\r\nHost: evil\r\nTransfer-Encoding: x\r\n\r\n",
  );
  assert.deepEqual(m.trailers, [
    "X-Trailer",
    "v",
    "Content-Length",
    "5",
    "Host",
    "evil",
    "Transfer-Encoding",
    "x",
  ]);
  assert.equal(m.h.host, "a");
  assert.equal(m.h.contentLength, -1);
  assert.deepEqual(m.h.headers, ["Host", "a", "Transfer-Encoding", "chunked"]);
});

Deno.test("parseRequestHead() and ChunkedDecoder reject a bare LF ending the trailer section (#50)", () => {
  chunkedRejects("0\r\n\n", 400);
  chunkedRejects("0\r\nX: v\n\r\n", 400);
  const m = decodeChunked("5\r\nhello\r\n");
  assert.equal(m.done, false);
});

// ---- E. Connection and Expect ------------------------------------------------------------

Deno.test("parseRequestHead() derives keep-alive from Connection token lists (#51)", () => {
  assert.equal(head(`GET / HTTP/1.1\r\n${H}\r\n`).keepAlive, true);
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`).keepAlive,
    false,
  );
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}Connection: close\t\r\n\r\n`).keepAlive,
    false,
  );
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`)
      .keepAlive,
    false,
  );
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}Connection: Upgrade ,CLOSE\r\n\r\n`).keepAlive,
    false,
  );
  assert.equal(
    head(`GET / HTTP/1.1\r\n${H}Connection: closed\r\n\r\n`).keepAlive,
    true,
  );
  assert.equal(
    head(
      `GET / HTTP/1.1\r\n${H}Connection: keep-alive\r\nConnection: close\r\n\r\n`,
    ).keepAlive,
    false,
  );
  const raw = "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  const h = head(raw);
  assert.equal(h.keepAlive, false);
  assert.equal(h.headBytes, "GET / HTTP/1.0\r\n\r\n".length);
});

Deno.test("parseRequestHead() reports Expect: 100-continue on HTTP/1.1 and ignores it on HTTP/1.0 (#52)", () => {
  const h = head(
    `POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 5\r\n\r\n`,
  );
  assert.equal(h.expectContinue, true);
  assert.equal(
    head("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
      .expectContinue,
    false,
  );
  rejects(
    `POST / HTTP/1.1\r\n${H}Expect: foo\r\nContent-Length: 5\r\n\r\n`,
    417,
    "expectation_failed",
  );
  rejects(`POST / HTTP/1.1\r\n${H}Expect: 100-continue, foo\r\n\r\n`, 417);
  assert.equal(
    head("POST / HTTP/1.0\r\nExpect: foo\r\n\r\n").expectContinue,
    false,
  );
});

// ---- HttpError ---------------------------------------------------------------------------

Deno.test("HttpError carries status, code, name and cause", () => {
  const cause = new Error("inner");
  const e = new HttpError(431, "header_fields_too_large", "Too many", {
    cause,
  });
  assert.equal(e.name, "HttpError");
  assert.equal(e.status, 431);
  assert.equal(e.code, "header_fields_too_large");
  assert.equal(e.message, "Too many");
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
  assert.throws(() => new HttpError(200, "bad_request", "x"), RangeError);
});

Deno.test("parseRequestHead() throws RangeError for a range outside the buffer", () => {
  const b = bytes(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.throws(() => parseRequestHead(b, -1, b.length, LIMITS), RangeError);
  assert.throws(() => parseRequestHead(b, 0, b.length + 1, LIMITS), RangeError);
  assert.throws(() => parseRequestHead(b, 5, 4, LIMITS), RangeError);
});

Deno.test("parseRequestHead() keeps a long value with obs-text byte-exact", () => {
  const value = "\xe9" + "v".repeat(9000) + "\xff";
  const h = head(`GET / HTTP/1.1\r\n${H}X: ${value}\r\n\r\n`);
  assert.equal(h.headers[3], value);
});

/**
 * The Transfer-Encoding mutations request-smuggling scanners send (the set
 * of smuggler.py's default configuration): each names its field line.
 */
function smugglingMutations(): [string, string][] {
  const te = "Transfer-Encoding";
  const list: [string, string][] = [
    ["nameprefix", ` ${te}: chunked`],
    ["tabprefix", `${te}\t:\tchunked`],
    ["spacejoin", "Transfer Encoding: chunked"],
    ["underjoin", "Transfer_Encoding: chunked"],
    ["space before colon", `${te} : chunked`],
    ["vertical tab", `${te}:\vchunked`],
    ["chunked, cow", `${te}: chunked, cow`],
    ["cow, chunked", `${te}: cow, chunked`],
    ["content-encoding", "Content-Encoding: chunked"],
    ["line folded", `${te}:\n chunked`],
    ["quoted", `${te}: "chunked"`],
    ["aposed", `${te}: 'chunked'`],
    ["lazygrep", `${te}: chunk`],
    ["sarcasm", "TrAnSFer-EnCODinG: cHuNkeD"],
    ["bare CR suffix", `${te}: chunked\r`],
    ["cow then chunked", `${te}: cow\r\n${te}: chunked`],
    ["chunked then cow", `${te}: chunked\r\n${te}: cow`],
    ["CR in name", "Transfer\r-Encoding: chunked"],
    ["nested", `${te}: cow chunked bar`],
    ["0xFF", `${te}:\xffchunked`],
    ["accent in value", `${te}: ch\x96nked`],
    ["accent in name", "Transf\x82r-Encoding: chunked"],
    ["bare CR before", `X: X\r${te}: chunked`],
    ["bare LF before", `X: X\n${te}: chunked`],
    ["chunked twice", `${te}: chunked, chunked`],
  ];
  for (
    const c of [1, 4, 8, 9, 10, 11, 12, 13, 0x1f, 0x20, 0x7f, 0xa0, 0xff]
  ) {
    const x = String.fromCharCode(c);
    const h = c.toString(16);
    list.push(
      [`mid ${h}`, `${te}:${x}chunked`],
      [`post ${h}`, `${te}${x}: chunked`],
      [`pre ${h}`, `${x}${te}: chunked`],
      [`end ${h}`, `${te}: chunked${x}`],
      [`x-pre ${h}`, `X: X${x}${te}: chunked`],
      [`end-x ${h}`, `${te}: chunked${x}X: X`],
      [`rx-pre ${h}`, `X: X\r${x}${te}: chunked`],
      [`xn-pre ${h}`, `X: X${x}\n${te}: chunked`],
      [`end-rx ${h}`, `${te}: chunked\r${x}X: X`],
      [`end-xn ${h}`, `${te}: chunked${x}\nX: X`],
    );
  }
  return list;
}

Deno.test("parseRequestHead() frames every smuggling mutation one way: refused, or by exactly one header", () => {
  let refused = 0;
  for (const [name, line] of smugglingMutations()) {
    // With a Content-Length as well: refused, or the mutation is no
    // Transfer-Encoding at all (another field's value, another name) and
    // the Content-Length alone frames the body.
    const withLength =
      `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\n${line}\r\n\r\n`;
    let h: RequestHead;
    try {
      h = head(withLength);
    } catch (error) {
      assert.ok(error instanceof HttpError, `${name}: ${error}`);
      assert.ok([400, 501].includes(error.status), `${name}: ${error.status}`);
      refused++;
      continue;
    }
    assert.equal(h.chunked, false, name);
    assert.equal(h.contentLength, 6, name);
    const names = h.headers.filter((_, i) => i % 2 === 0);
    assert.ok(
      !names.some((n) => n.toLowerCase() === "transfer-encoding"),
      `${name}: a Transfer-Encoding field next to the Content-Length`,
    );
  }
  // All but the six that are no Transfer-Encoding field: "X: X<HT, SP, 0xA0
  // or 0xFF>Transfer-Encoding: chunked" is one X field's value, and
  // Transfer_Encoding and Content-Encoding are other fields.
  assert.equal(refused, smugglingMutations().length - 6);
});

Deno.test("parseRequestHead() reads a smuggling mutation alone as chunked only when it is plain chunked", () => {
  const chunkedOnes: string[] = [];
  for (const [name, line] of smugglingMutations()) {
    let h: RequestHead;
    try {
      h = head(`POST / HTTP/1.1\r\n${H}${line}\r\n\r\n`);
    } catch (error) {
      assert.ok(error instanceof HttpError, `${name}: ${error}`);
      continue;
    }
    if (h.chunked) chunkedOnes.push(name);
  }
  // Only OWS (SP, HTAB) around "chunked", and a field line after a
  // well-formed one, are still Transfer-Encoding: chunked; case is ignored
  // (RFC 9112 §7: coding names are case-insensitive).
  assert.deepEqual(
    chunkedOnes.sort(),
    [
      "end 20",
      "end 9",
      "end-rx a",
      "end-xn d",
      "mid 20",
      "mid 9",
      "rx-pre a",
      "sarcasm",
      "xn-pre d",
    ].sort(),
  );
});
