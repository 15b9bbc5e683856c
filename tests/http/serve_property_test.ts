// Random and mutated requests against the engine (plain TCP for speed): every
// input gets well-formed responses or a clean close, never a crash or a hang.

import assert from "node:assert/strict";
import fc from "fast-check";
import { RawClient, startTcp, statuses } from "./_helpers.ts";

const VALID = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
  "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
  "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
];

const encoder = new TextEncoder();

const mutated = fc.tuple(
  fc.constantFrom(...VALID),
  fc.array(
    fc.tuple(
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom("set", "insert", "delete"),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  fc.nat({ max: 2 }),
).map(([text, edits, repeat]) => {
  const bytes = [...encoder.encode(text.repeat(repeat + 1))];
  for (const [at, byte, op] of edits) {
    const i = at % (bytes.length + 1);
    if (op === "set" && i < bytes.length) bytes[i] = byte;
    else if (op === "insert") bytes.splice(i, 0, byte);
    else if (op === "delete" && i < bytes.length) bytes.splice(i, 1);
  }
  return new Uint8Array(bytes);
});

const random = fc.uint8Array({ minLength: 1, maxLength: 300 });

Deno.test("httpServeOpts() answers random and mutated requests or closes cleanly, never hangs", async () => {
  const unexpected: unknown[] = [];
  const server = startTcp(async (req) => {
    // Reading the body exercises the chunked decoder and 100-continue.
    const body = await req.text();
    return new Response(`${req.method} ${body.length}`);
  }, {
    headerTimeoutMs: 150,
    bodyTimeoutMs: 150,
    keepAliveTimeoutMs: 100,
    onError: (error) => void unexpected.push(error),
  });
  const statusLine = /^HTTP\/1\.1 \d{3} /;
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, random), async (input) => {
        await using client = await RawClient.tcp(server);
        await client.send(input).catch(() => {});
        const text = await client.readToEnd();
        if (text !== "") {
          assert.match(text, statusLine);
          for (const status of statuses(text)) {
            assert.ok(status >= 100 && status <= 505, String(status));
          }
        }
      }),
      { numRuns: 120 },
    );
    // Still serving after all of that.
    await using client = await RawClient.tcp(server);
    await client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.match(await client.readResponse(), /^HTTP\/1\.1 200 OK/);
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
  // A handler reading a body that breaks or times out gets that error.
  const handlerBodyErrors = unexpected.filter((e) =>
    !(e instanceof Error && e.name === "HttpError") &&
    !(e instanceof DOMException)
  );
  assert.deepEqual(handlerBodyErrors.map(String), []);
});
