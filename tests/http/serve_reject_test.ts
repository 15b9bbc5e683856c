// httpServeTlsOpts() rejects malformed requests at the wire level: the right
// status, Connection: close, the connection closed, and nothing after the bad
// message processed.

import assert from "node:assert/strict";
import { RawClient, startTls, statuses } from "./_helpers.ts";

const H = "Host: a\r\n";
const AFTER = "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";

/** [name, raw request, expected status]. */
const CASES: [string, string, number][] = [
  ["two spaces in the request line", `GET  / HTTP/1.1\r\n${H}\r\n`, 400],
  ["tab in the request line", `GET\t/ HTTP/1.1\r\n${H}\r\n`, 400],
  ["space in the target", `GET /foo bar/ HTTP/1.1\r\n${H}\r\n`, 400],
  ["bare LF after the request line", `GET / HTTP/1.1\nHost: a\r\n\r\n`, 400],
  ["bare CR", `GET / HTTP/1.1\rHost: a\r\n\r\n`, 400],
  ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`, 505],
  ["lower-case HTTP name", `GET / http/1.1\r\n${H}\r\n`, 400],
  ["version without minor", `GET / HTTP/1\r\n${H}\r\n`, 400],
  ["HTTP/0.9 request", `GET /\r\n\r\n`, 400],
  ["lower-case method", `get / HTTP/1.1\r\n${H}\r\n`, 501],
  ["unknown method", `FOOBAR / HTTP/1.1\r\n${H}\r\n`, 501],
  ["GET *", `GET * HTTP/1.1\r\n${H}\r\n`, 400],
  ["CONNECT", `CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n`, 501],
  [
    "target over maxUrlBytes",
    `GET /${"a".repeat(9000)} HTTP/1.1\r\n${H}\r\n`,
    414,
  ],
  ["NUL in the target", `GET /\x00 HTTP/1.1\r\n${H}\r\n`, 400],
  ["missing Host", `GET / HTTP/1.1\r\n\r\n`, 400],
  ["duplicate Host", `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400],
  ["Host with userinfo", `GET / HTTP/1.1\r\nHost: user@a\r\n\r\n`, 400],
  ["space before colon", `GET / HTTP/1.1\r\n${H}X-Test : v\r\n\r\n`, 400],
  ["obs-fold", `GET / HTTP/1.1\r\n${H}X-Test: v\r\n continued\r\n\r\n`, 400],
  [
    "whitespace before the first field",
    `GET / HTTP/1.1\r\n Host: a\r\n\r\n`,
    400,
  ],
  ["empty field name", `GET / HTTP/1.1\r\n${H}: v\r\n\r\n`, 400],
  ["control byte in a value", `GET / HTTP/1.1\r\n${H}X: a\x07\r\n\r\n`, 400],
  [
    "too many header fields",
    `GET / HTTP/1.1\r\n${H}${"X: 1\r\n".repeat(200)}\r\n`,
    431,
  ],
  [
    "header block over maxHeaderBytes",
    `GET / HTTP/1.1\r\n${H}X: ${"v".repeat(20_000)}\r\n\r\n`,
    431,
  ],
  [
    "differing Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    400,
  ],
  [
    "Content-Length with a sign",
    `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
    400,
  ],
  [
    "Content-Length over maxBodyBytes",
    `POST / HTTP/1.1\r\n${H}Content-Length: 999999999\r\n\r\n`,
    413,
  ],
  [
    "Content-Length and Transfer-Encoding",
    `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    400,
  ],
  [
    "chunked not final",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
    400,
  ],
  [
    "unknown transfer coding",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: pigeons\r\n\r\n`,
    501,
  ],
  [
    "chunked twice",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`,
    400,
  ],
  [
    "Transfer-Encoding in HTTP/1.0",
    `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk size with 0x",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk size with trailing space",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "empty chunk extension",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk data without CRLF",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n`,
    400,
  ],
  [
    "bare LF ends the trailers",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\n`,
    400,
  ],
  ["Host with a comma", `GET / HTTP/1.1\r\nHost: a, b\r\n\r\n`, 400],
  ["Host with a path", `GET / HTTP/1.1\r\nHost: a/path\r\n\r\n`, 400],
  ["empty Host", `GET / HTTP/1.1\r\nHost: \r\n\r\n`, 400],
  ["bare CR in a value", `GET / HTTP/1.1\r\n${H}Foo: 1\rBar: 2\r\n\r\n`, 400],
  [
    "bare LF inside the header block",
    `POST / HTTP/1.1\r\n${H}Dummy: x\nContent-Length: 23\r\n\r\n`,
    400,
  ],
  [
    "form feed in a value",
    `GET / HTTP/1.1\r\n${H}Header1: hello\fworld\r\n\r\n`,
    400,
  ],
  [
    "negative Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    400,
  ],
  [
    "hex Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`,
    400,
  ],
  [
    "Content-Length with a space inside",
    `POST / HTTP/1.1\r\n${H}Content-Length: 4 2\r\n\r\n`,
    400,
  ],
  [
    "empty Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n`,
    400,
  ],
  [
    "octal-looking Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: 0o5\r\n\r\n`,
    400,
  ],
  [
    "overflowing Content-Length",
    `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000000000\r\n\r\n`,
    413,
  ],
  [
    "Transfer-Encoding: identity",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
    400,
  ],
  [
    "Transfer-Encoding with a leading comma",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    "Transfer-Encoding with a vertical tab",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    "empty Transfer-Encoding with Content-Length",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \r\nContent-Length: 1\r\n\r\nx`,
    400,
  ],
  [
    "chunk size with a plus",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk size with a leading space",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "overflowing chunk size",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "64 kB of chunk extension",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a=${
      "b".repeat(65_536)
    }\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk extension with a space",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a b\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  [
    "chunk line ended by bare LF",
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`,
    400,
  ],
  ["unknown expectation", `GET / HTTP/1.1\r\n${H}Expect: foo\r\n\r\n`, 417],
  ["HTTP/2 preface", `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, 505],
  ["binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400],
];

Deno.test("httpServeTlsOpts() rejects each malformed request with its status and closes", async () => {
  const seen: string[] = [];
  const server = startTls(async (req) => {
    seen.push(new URL(req.url).pathname);
    // A body error must win over whatever the handler answers.
    await req.body?.cancel();
    return new Response("handled");
  });
  const failures: string[] = [];
  for (const [name, raw, status] of CASES) {
    seen.length = 0;
    await using client = await RawClient.tls(server);
    await client.send(raw + AFTER);
    const text = await client.readToEnd();
    const got = statuses(text);
    if (got.length !== 1 || got[0] !== status) {
      failures.push(`${name}: expected [${status}], got [${got}]`);
      continue;
    }
    if (!/\r\nconnection: close\r\n/.test(text)) {
      failures.push(`${name}: no Connection: close`);
    }
    if (seen.includes("/after")) {
      failures.push(`${name}: processed bytes after it`);
    }
    assert.ok(client.eof);
  }
  assert.deepEqual(failures, []);
  assert.ok(server.stats().parseErrors >= CASES.length - 1);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() accepts the lenient-but-valid forms of the edge-case list", async () => {
  const server = startTls(async (req) =>
    new Response(`${req.method} ${req.url} ${await req.text()}`)
  );
  const cases: [string, string][] = [
    [`\r\nGET /lead HTTP/1.1\r\n${H}\r\n`, "GET https://a/lead "],
    [`GET http://other/x HTTP/1.1\r\nHost: b\r\n\r\n`, "GET https://other/x "],
    [
      `POST / HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`,
      "POST https://a/ abc",
    ],
    [
      `POST / HTTP/1.1\r\n${H}Content-Length:\t5\t\r\n\r\nhello`,
      "POST https://a/ hello",
    ],
    [`GET / HTTP/1.1\r\n${H}X: value \t\r\n\r\n`, "GET https://a/ "],
    [
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n000\r\n\r\n`,
      "POST https://a/ 0123456789",
    ],
    [
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 99\r\nHost: evil\r\n\r\n`,
      "POST https://a/ ok",
    ],
  ];
  for (const [raw, expected] of cases) {
    await using client = await RawClient.tls(server);
    await client.send(raw);
    const res = await client.readResponse();
    assert.match(res, /^HTTP\/1\.1 200 OK/, raw);
    assert.ok(res.endsWith(expected), `${JSON.stringify(raw)} -> ${res}`);
  }
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers a chunked body the client broke with 400, not a handler failure", async () => {
  const errors: unknown[] = [];
  let handlerSaw = "";
  const server = startTls(async (req) => {
    try {
      await req.text();
      handlerSaw = "body";
    } catch (error) {
      handlerSaw = (error as Error).name;
      throw error;
    }
    return new Response("read");
  }, { onError: (error) => void errors.push(error) });
  const client = await RawClient.tls(server);
  await client.send(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
      "FFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n" + AFTER,
  );
  const text = await client.readToEnd();
  assert.deepEqual(statuses(text), [400]);
  assert.match(text, /connection: close/i);
  assert.equal(handlerSaw, "HttpError");
  assert.deepEqual(errors, [], "no onError for the client's mistake");
  assert.equal(server.stats().parseErrors, 1);
  client.close();
  await server.shutdown();
});
