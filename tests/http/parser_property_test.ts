import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpError } from "../../http/errors.ts";
import {
  type ParseLimits,
  parseRequestHead,
  type RequestHead,
} from "../../http/_parser.ts";
import {
  ChunkedDecoder,
  type ChunkedLimits,
  encodeChunk,
  LAST_CHUNK,
} from "../../http/_chunked.ts";

const LIMITS: ParseLimits = {
  maxHeaderBytes: 16384,
  maxHeaderCount: 100,
  maxUrlBytes: 8192,
  maxBodyBytes: 1_000_000,
};
const SMALL: ParseLimits = {
  maxHeaderBytes: 96,
  maxHeaderCount: 3,
  maxUrlBytes: 24,
  maxBodyBytes: 50,
};
const CHUNKED_LIMITS: ChunkedLimits = {
  maxBodyBytes: 100_000,
  maxTrailerBytes: 256,
  maxTrailerCount: 4,
  maxChunkExtBytes: 64,
};
const STATUSES = new Set([400, 413, 414, 417, 431, 501, 505]);

function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

type Outcome = RequestHead | null | { status: number; code: string };

/** Parses and folds an HttpError into a value; any other exception escapes. */
function outcome(buf: Uint8Array, end: number, limits: ParseLimits): Outcome {
  try {
    return parseRequestHead(buf, 0, end, limits);
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    assert.ok(STATUSES.has(e.status), `unexpected status ${e.status}`);
    return { status: e.status, code: e.code };
  }
}

/** Framing invariants every accepted head must satisfy. */
function checkHead(
  h: RequestHead,
  buf: Uint8Array,
  end: number,
  limits: ParseLimits,
): void {
  assert.ok(!(h.chunked && h.contentLength >= 0), "chunked and Content-Length");
  assert.ok(h.contentLength >= -1 && h.contentLength <= limits.maxBodyBytes);
  assert.ok(Number.isSafeInteger(h.contentLength));
  assert.ok(!h.chunked || h.versionMinor === 1, "chunked on HTTP/1.0");
  assert.ok(
    h.headBytes >= 18 && h.headBytes <= end &&
      h.headBytes <= limits.maxHeaderBytes,
  );
  assert.deepEqual([...buf.subarray(h.headBytes - 4, h.headBytes)], [
    13,
    10,
    13,
    10,
  ]);
  assert.ok(h.versionMinor === 0 || h.host !== "", "HTTP/1.1 without host");
  assert.ok(
    h.headers.length % 2 === 0 && h.headers.length <= 2 * limits.maxHeaderCount,
  );
  assert.ok(h.target.length <= limits.maxUrlBytes);
  assert.ok(h.requestLine.startsWith(`${h.method} ${h.target} HTTP/1.`));
  // The head alone gives the same result: nothing after it was looked at.
  assert.deepEqual(parseRequestHead(buf, 0, h.headBytes, limits), h);
}

// Bytes that matter to the grammar, so random strings reach deep states.
const ATOMS = [
  "GET",
  "POST",
  "OPTIONS",
  " ",
  "/",
  "*",
  "http://a",
  " HTTP/1.1",
  " HTTP/1.0",
  "\r\n",
  "\r",
  "\n",
  "\t",
  ":",
  ",",
  "Host: a\r\n",
  "Host",
  "Content-Length",
  "Transfer-Encoding",
  "chunked",
  "Connection",
  "close",
  "Expect",
  "100-continue",
  "0",
  "5",
  "99999999999999999999",
  "a",
  "%",
  "\x00",
  "\x7f",
  "\xe9",
  "\r\n\r\n",
];
const atomString = fc.array(fc.constantFrom(...ATOMS), { maxLength: 40 }).map((
  a,
) => a.join(""));

Deno.test("parseRequestHead() gives a head, null or an HttpError for any bytes", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 200 }), atomString.map(bytes)),
      fc.boolean(),
      (buf, small) => {
        const limits = small ? SMALL : LIMITS;
        const r = outcome(buf, buf.length, limits);
        if (r !== null && "method" in r) checkHead(r, buf, buf.length, limits);
      },
    ),
    { numRuns: 2000 },
  );
});

// Valid requests.
const tchar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
);
const token = fc.array(tchar, { minLength: 1, maxLength: 12 }).map((a) =>
  a.join("")
);
const fieldName = token.filter((n) =>
  !["host", "content-length", "transfer-encoding", "expect", "connection"]
    .includes(n.toLowerCase())
);
const fieldValue = fc.array(
  fc.oneof(
    fc.integer({ min: 0x21, max: 0x7e }),
    fc.constantFrom(0x20, 0x09),
    fc.integer({ min: 0x80, max: 0xff }),
  ),
  { maxLength: 30 },
).map((a) => String.fromCharCode(...a));
const pathChar = fc.constantFrom(..."abcXYZ019-._~:@!$&'()*+,;=/?[]");
const path = fc.array(pathChar, { maxLength: 30 }).map((a) => "/" + a.join(""));
const framing = fc.oneof(
  fc.constant(""),
  fc.nat({ max: 1000 }).map((n) => `Content-Length: ${n}\r\n`),
  fc.constant("Transfer-Encoding: chunked\r\n"),
);

const validRequest = fc.record({
  method: fc.constantFrom(
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "OPTIONS",
    "PATCH",
  ),
  path,
  minor: fc.constantFrom(0, 1),
  fields: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 8 }),
  framing,
  close: fc.boolean(),
  leading: fc.nat({ max: 2 }),
}).map((r) => {
  const te = r.framing.startsWith("Transfer");
  const minor = te ? 1 : r.minor;
  let s = "\r\n".repeat(r.leading) +
    `${r.method} ${r.path} HTTP/1.${minor}\r\nHost: example.com\r\n`;
  for (const [n, v] of r.fields) s += `${n}: ${v}\r\n`;
  s += r.framing + (r.close ? "Connection: close\r\n" : "") + "\r\n";
  return s;
});

Deno.test("parseRequestHead() parses generated valid requests", () => {
  fc.assert(
    fc.property(validRequest, fc.string({ maxLength: 20 }), (raw, rest) => {
      const buf = bytes(raw + rest);
      const h = parseRequestHead(buf, 0, buf.length, LIMITS);
      assert.notEqual(h, null);
      assert.equal(h!.headBytes, raw.length);
      checkHead(h!, buf, buf.length, LIMITS);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("parseRequestHead() gives the same result for a request fed in arbitrary splits", () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.array(fc.nat(), { maxLength: 10 }),
      (raw, cutSeeds) => {
        const buf = bytes(raw);
        const whole = parseRequestHead(buf, 0, buf.length, LIMITS);
        const cuts = [...new Set(cutSeeds.map((c) => c % buf.length))].sort((
          a,
          b,
        ) => a - b);
        for (const cut of cuts) {
          assert.equal(
            parseRequestHead(buf, 0, cut, LIMITS),
            null,
            `cut at ${cut}`,
          );
        }
        assert.deepEqual(parseRequestHead(buf, 0, buf.length, LIMITS), whole);
      },
    ),
    { numRuns: 1000 },
  );
});

const MUTATION_BYTES = [13, 10, 32, 9, 58, 44, 0, 0x80, 0x7f, 97, 48, 59, 34];

Deno.test("parseRequestHead() never frames a mutated request ambiguously", () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.array(
        fc.tuple(
          fc.constantFrom("insert", "delete", "replace"),
          fc.nat(),
          fc.constantFrom(...MUTATION_BYTES),
        ),
        { minLength: 1, maxLength: 4 },
      ),
      fc.boolean(),
      (raw, mutations, small) => {
        const a = [...bytes(raw + "Content-Length: 5\r\n\r\nhello")];
        for (const [kind, at, b] of mutations) {
          const i = at % (a.length + 1);
          if (kind === "insert") a.splice(i, 0, b);
          else if (kind === "delete") a.splice(i, 1);
          else a[Math.min(i, a.length - 1)] = b;
        }
        const buf = Uint8Array.from(a);
        const limits = small ? SMALL : LIMITS;
        const r = outcome(buf, buf.length, limits);
        if (r !== null && "method" in r) checkHead(r, buf, buf.length, limits);
        // A prefix is never "more complete" than the whole: it is null, the
        // same error, or (if the head ends inside it) the same head.
        const cut = (mutations[0]![1] * 7) % (buf.length + 1);
        const p = outcome(buf, cut, limits);
        if (p !== null) assert.deepEqual(p, r);
      },
    ),
    { numRuns: 2000 },
  );
});

function decodeAll(
  buf: Uint8Array,
  cuts: number[],
): { body: number[]; used: number; trailers: string[] } {
  const decoder = new ChunkedDecoder(CHUNKED_LIMITS);
  const body: number[] = [];
  let used = 0;
  for (const cut of [...cuts, buf.length]) {
    if (decoder.done) break;
    const n = decoder.decode(buf, used, Math.max(used, cut), (d) => {
      for (const x of d) body.push(x);
    });
    assert.ok(n >= 0 && used + n <= buf.length);
    used += n;
  }
  assert.equal(decoder.bodyBytes, body.length);
  return { body, used, trailers: decoder.trailers };
}

Deno.test("ChunkedDecoder consumes or rejects any bytes with an HttpError, never another exception", () => {
  const chunkAtoms = fc.array(
    fc.constantFrom(
      "5",
      "0",
      "a",
      "F",
      ";",
      "=",
      '"',
      "\\",
      " ",
      "\t",
      "\r\n",
      "\r",
      "\n",
      "hello",
      "X: v",
      ":",
      "\x00",
    ),
    { maxLength: 30 },
  ).map((a) => bytes(a.join("")));
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 120 }), chunkAtoms),
      fc.array(fc.nat(), { maxLength: 5 }),
      (buf, seeds) => {
        const cuts = seeds.map((s) => s % (buf.length + 1)).sort((a, b) =>
          a - b
        );
        let whole: unknown;
        let split: unknown;
        try {
          whole = decodeAll(buf, []);
        } catch (e) {
          if (!(e instanceof HttpError)) throw e;
          whole = e.status;
        }
        try {
          split = decodeAll(buf, cuts);
        } catch (e) {
          if (!(e instanceof HttpError)) throw e;
          split = e.status;
        }
        assert.deepEqual(split, whole);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("ChunkedDecoder gives the same body for encoded chunks fed in arbitrary splits", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), {
        maxLength: 6,
      }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (chunks, seeds) => {
        const parts = [...chunks.map(encodeChunk), LAST_CHUNK, bytes("GET")];
        const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          buf.set(p, o);
          o += p.length;
        }
        const cuts = seeds.map((s) => s % (buf.length + 1)).sort((a, b) =>
          a - b
        );
        const r = decodeAll(buf, cuts);
        assert.deepEqual(r.body, chunks.flatMap((c) => [...c]));
        assert.equal(r.used, buf.length - 3);
      },
    ),
    { numRuns: 1000 },
  );
});
