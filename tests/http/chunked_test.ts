import assert from "node:assert/strict";
import { HttpError } from "../../http/errors.ts";
import {
  ChunkedDecoder,
  type ChunkedLimits,
  encodeChunk,
  LAST_CHUNK,
} from "../../http/_chunked.ts";

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

/** Deterministic pseudo-random cut points (mulberry32), so failures replay. */
function randomCuts(length: number, seed: number): number[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cuts: number[] = [];
  for (let i = 0; i < length; i++) if (next() < 0.3) cuts.push(i);
  return cuts;
}

function byteByByte(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

const BODY = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

Deno.test("ChunkedDecoder decodes a normal body and stops at its end (#44)", () => {
  const r = decodeChunked(BODY + "GET / HTTP/1.1\r\n");
  assert.equal(r.body, "hello world");
  assert.equal(r.done, true);
  assert.equal(r.used, BODY.length);
  assert.deepEqual(r.trailers, []);
});

Deno.test("ChunkedDecoder gives the same result byte by byte and in random splits", () => {
  const raw = "A;x=1\r\n0123456789\r\n1f\r\n" + "z".repeat(31) +
    '\r\n3;q="a\\"b"\r\nabc\r\n0\r\nX-Sum: 42 \r\nY:\tz\r\n\r\nNEXT';
  const whole = decodeChunked(raw);
  assert.equal(whole.body, "0123456789" + "z".repeat(31) + "abc");
  assert.deepEqual(whole.trailers, ["X-Sum", "42", "Y", "z"]);
  assert.equal(whole.used, raw.length - 4);
  assert.deepEqual(decodeChunked(raw, byteByByte(raw.length)), whole);
  for (let seed = 1; seed <= 50; seed++) {
    assert.deepEqual(
      decodeChunked(raw, randomCuts(raw.length, seed)),
      whole,
      `seed ${seed}`,
    );
  }
});

Deno.test("ChunkedDecoder accepts upper- and lowercase hex and a 000 last chunk", () => {
  const r = decodeChunked(
    "A\r\n0123456789\r\na\r\nabcdefghij\r\n0005\r\nhello\r\n000\r\n\r\n",
  );
  assert.equal(r.body, "0123456789abcdefghijhello");
  assert.equal(r.done, true);
});

Deno.test("ChunkedDecoder hands out views into the input buffer without copying", () => {
  const b = bytes(BODY);
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  const views: Uint8Array[] = [];
  const used = decoder.decode(b, 0, b.length, (d) => views.push(d));
  assert.equal(used, b.length);
  assert.equal(views.length, 2);
  assert.equal(views[0]!.buffer, b.buffer);
  assert.equal(views[0]!.byteOffset, 3);
  assert.equal(decoder.bodyBytes, 11);
});

Deno.test("ChunkedDecoder consumes nothing once the message is done", () => {
  const b = bytes(BODY + "NEXT");
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  const used = decoder.decode(b, 0, b.length, () => {});
  assert.equal(used, BODY.length);
  assert.equal(
    decoder.decode(b, used, b.length, () => assert.fail("data after the end")),
    0,
  );
  assert.equal(decoder.done, true);
});

Deno.test("ChunkedDecoder rejects a chunk size that is not 1*HEXDIG with 400 (#45)", () => {
  for (
    const size of [
      "0x5",
      "+5",
      "-1",
      " 5",
      "5_0",
      "FFFFFFFFFFFFFFFFFF",
      "",
      "g",
      "5.0",
      "\t5",
    ]
  ) {
    const e = chunkedRejects(`${size}\r\nhello\r\n0\r\n\r\n`, 400);
    assert.equal(e.code, "bad_request");
  }
  // 17 digits, even with a small value.
  chunkedRejects(`${"0".repeat(16)}5\r\nhello\r\n0\r\n\r\n`, 400);
});

Deno.test("ChunkedDecoder answers sizes over maxBodyBytes with 413, also summed over chunks", () => {
  const e = chunkedRejects("FFFFFFFFFFFFFFFF\r\n", 413);
  assert.equal(e.code, "payload_too_large");
  const limits = { ...CHUNKED_LIMITS, maxBodyBytes: 10 };
  assert.equal(
    decodeChunked("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", [], limits).body,
    "helloworld",
  );
  chunkedRejects("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 413, [], limits);
  // Rejected when the size line is read, before any of that chunk's data.
  chunkedRejects("5\r\nhello\r\n6\r\n", 413, [], limits);
});

Deno.test("ChunkedDecoder rejects whitespace after a chunk size without an extension (#46)", () => {
  chunkedRejects("5 \r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\t\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5 x\r\nhello\r\n0\r\n\r\n", 400);
  // BWS is allowed before ";".
  assert.equal(decodeChunked("5 ;a\r\nhello\r\n0\r\n\r\n").body, "hello");
});

Deno.test("ChunkedDecoder ignores well-formed chunk extensions (#47)", () => {
  for (
    const ext of [
      ";ext=val",
      ";a",
      ";a;b=c",
      ' ; a = "q \\"x\\"" ; b',
      ';a="\t\xe9 ;="',
      ";a=b;c",
      ";!#$%&'*+-.^_`|~=x",
    ]
  ) {
    const r = decodeChunked(`5${ext}\r\nhello\r\n0${ext}\r\n\r\n`);
    assert.equal(r.body, "hello", ext);
    assert.equal(r.done, true);
  }
});

Deno.test("ChunkedDecoder rejects malformed chunk extensions with 400 (#47)", () => {
  for (
    const ext of [
      ";",
      "; ",
      ";a b",
      ";=x",
      ";a=",
      ";a= ",
      ";a=b c",
      ";a=b ",
      ";a ",
      ';a="x" y',
      ';a="x',
      ';a="\x01"',
      ";a=\x01",
      ";a@b",
      ";a=b,c",
    ]
  ) {
    chunkedRejects(`5${ext}\r\nhello\r\n0\r\n\r\n`, 400);
  }
});

Deno.test("ChunkedDecoder limits the extension bytes of a chunk-size line (#47)", () => {
  chunkedRejects(`5;a=${"x".repeat(65_536)}\r\nhello\r\n0\r\n\r\n`, 400);
  chunkedRejects(`5;a=${"x".repeat(300)}\r\nhello\r\n0\r\n\r\n`, 400);
  assert.equal(
    decodeChunked(`5;a=${"x".repeat(200)}\r\nhello\r\n0\r\n\r\n`).body,
    "hello",
  );
  // Counted per line, not per body.
  const many = `1;a=${"x".repeat(200)}\r\nx\r\n`.repeat(5);
  assert.equal(decodeChunked(`${many}0\r\n\r\n`).body, "xxxxx");
});

Deno.test("ChunkedDecoder requires CRLF after the size line and after the data (#48)", () => {
  chunkedRejects("5\r\r;ABCD\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("5\r\nABCDE0\r\n\r\n", 400);
  chunkedRejects("5\r\nhello\n0\r\n\r\n", 400);
  chunkedRejects("5\r\nhello\r0\r\n\r\n", 400);
  chunkedRejects("5\r\nhelloX\n0\r\n\r\n", 400);
  chunkedRejects("5;a\rb\r\nhello\r\n0\r\n\r\n", 400);
  chunkedRejects("0\r\n\r\r", 400);
});

Deno.test("ChunkedDecoder parses trailers with header rules and keeps them apart (#49)", () => {
  const r = decodeChunked(
    "0\r\nX-Trailer: v\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost:  evil \r\n\r\n",
  );
  assert.deepEqual(r.trailers, [
    "X-Trailer",
    "v",
    "Content-Length",
    "5",
    "Transfer-Encoding",
    "chunked",
    "Host",
    "evil",
  ]);
  assert.equal(r.body, "");
  assert.equal(r.done, true);
  for (
    const line of [
      " X: v",
      "\tX: v",
      "X : v",
      ": v",
      "X@: v",
      "X: a\x00b",
      "X: a\x07",
      "X",
      "X: a\rb",
    ]
  ) {
    chunkedRejects(`0\r\n${line}\r\n\r\n`, 400);
  }
  assert.deepEqual(decodeChunked("0\r\nX: caf\xe9\r\n\r\n").trailers, [
    "X",
    "caf\xe9",
  ]);
});

Deno.test("ChunkedDecoder answers trailers over their limits with 431 (#49)", () => {
  const limits = { ...CHUNKED_LIMITS, maxTrailerCount: 2, maxTrailerBytes: 64 };
  assert.equal(
    decodeChunked("0\r\nA: 1\r\nB: 2\r\n\r\n", [], limits).trailers.length,
    4,
  );
  const e = chunkedRejects(
    "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    431,
    [],
    limits,
  );
  assert.equal(e.code, "header_fields_too_large");
  chunkedRejects(`0\r\nA: ${"v".repeat(80)}\r\n\r\n`, 431, [], limits);
  // Over the byte limit before the line ends.
  chunkedRejects(`0\r\nA: ${"v".repeat(80)}`, 431, [], limits);
});

Deno.test("ChunkedDecoder rejects a bare LF in the trailer section and waits for a missing last chunk (#50)", () => {
  chunkedRejects("0\r\n\n", 400);
  chunkedRejects("0\r\nX: v\n\r\n", 400);
  chunkedRejects("0\r\nX: v\r\n\n", 400);
  const r = decodeChunked("5\r\nhello\r\n");
  assert.equal(r.done, false);
  assert.equal(r.body, "hello");
  assert.equal(r.used, 10);
});

Deno.test("ChunkedDecoder throws the same error again after a failure", () => {
  const b = bytes("5 \r\nhello\r\n0\r\n\r\n");
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  let first: unknown;
  try {
    decoder.decode(b, 0, b.length, () => {});
  } catch (e) {
    first = e;
  }
  assert.ok(first instanceof HttpError);
  assert.throws(
    () => decoder.decode(b, 0, b.length, () => {}),
    (e) => e === first,
  );
  assert.equal(decoder.done, false);
});

Deno.test("encodeChunk() frames data so that ChunkedDecoder gets it back", () => {
  const parts = [1, 15, 16, 255, 256, 4097].map((n) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff)
  );
  const framed = [...parts.map(encodeChunk), LAST_CHUNK];
  const total = framed.reduce((n, f) => n + f.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const f of framed) {
    all.set(f, o);
    o += f.length;
  }
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  const out: number[] = [];
  const used = decoder.decode(all, 0, all.length, (d) => out.push(...d));
  assert.equal(used, total);
  assert.equal(decoder.done, true);
  assert.deepEqual(out, parts.flatMap((p) => [...p]));
  assert.equal(
    String.fromCharCode(...encodeChunk(bytes("hello"))),
    "5\r\nhello\r\n",
  );
  assert.equal(
    String.fromCharCode(...encodeChunk(new Uint8Array(255)).subarray(0, 4)),
    "ff\r\n",
  );
});

Deno.test("encodeChunk() returns an empty array for empty data, and LAST_CHUNK is 0 CRLF CRLF", () => {
  assert.equal(encodeChunk(new Uint8Array(0)).length, 0);
  assert.equal(String.fromCharCode(...LAST_CHUNK), "0\r\n\r\n");
});

Deno.test("ChunkedDecoder.decode() throws RangeError for a range outside the buffer", () => {
  const b = bytes(BODY);
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  assert.throws(() => decoder.decode(b, 0, b.length + 1, () => {}), RangeError);
  assert.throws(() => decoder.decode(b, 3, 2, () => {}), RangeError);
  assert.equal(decoder.decode(b, 0, b.length, () => {}), b.length);
});
