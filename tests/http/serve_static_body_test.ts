// Responses whose whole body is given up front (string, bytes, JSON, form
// data) are written without a ReadableStream: same bytes on the wire as the
// stream path, a Content-Length, and the body marked used.

import assert from "node:assert/strict";
import { staticBodySupported } from "../../http/_static_body.ts";
import { RawClient, startTcp } from "./_helpers.ts";

const H = "Host: a\r\n";

async function exchange(
  handler: (req: Request) => Response | Promise<Response>,
  request: string,
): Promise<string> {
  const server = startTcp(handler);
  try {
    const client = await RawClient.tcp(server);
    await client.send(request);
    const text = await client.readToEnd();
    client.close();
    return text;
  } finally {
    await server.shutdown();
  }
}

function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

Deno.test("writeResponse() reads complete bodies without a stream on this Deno", () => {
  // Fails when a Deno upgrade changes the Response internals it reads; the
  // server then still works, through the stream path.
  assert.equal(staticBodySupported, true);
});

Deno.test("httpServeOpts() sends string, bytes, JSON and form bodies with their length", async () => {
  const cases: [Response, string, string][] = [
    [
      new Response("héllo wörld", { status: 201, headers: { "x-a": "1" } }),
      "héllo wörld",
      "text/plain;charset=UTF-8",
    ],
    [new Response(new Uint8Array([104, 105])), "hi", ""],
    [Response.json({ a: [1, 2] }), '{"a":[1,2]}', "application/json"],
    [
      new Response(new URLSearchParams("q=a b")),
      "q=a+b",
      "application/x-www-form-urlencoded;charset=UTF-8",
    ],
    [new Response(""), "", "text/plain;charset=UTF-8"],
  ];
  for (const [res, body, type] of cases) {
    const status = res.status;
    const text = await exchange(
      () => res,
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    const bytes = new TextEncoder().encode(body).length;
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.match(text, new RegExp(`\r\ncontent-length: ${bytes}\r\n`));
    assert.doesNotMatch(text, /transfer-encoding/i);
    if (type !== "") assert.ok(text.includes(`content-type: ${type}\r\n`));
    // RawClient decodes UTF-8: the length above is in bytes.
    assert.equal(bodyOf(text), body);
    assert.equal(res.bodyUsed, true);
  }
});

Deno.test("httpServeOpts() answers HEAD for a complete body with its length and no body", async () => {
  const text = await exchange(
    () => new Response("twelve bytes"),
    `HEAD / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-length: 12\r\n/);
  assert.equal(bodyOf(text), "");
});

Deno.test("httpServeOpts() sends a complete body over 64 KiB whole", async () => {
  const big = "x".repeat(200_000);
  const text = await exchange(
    () => new Response(big),
    `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-length: 200000\r\n/);
  assert.equal(bodyOf(text), big);
});

Deno.test("httpServeOpts() answers a Response used twice with 500 the second time", async () => {
  const shared = new Response("once");
  const errors: unknown[] = [];
  const server = startTcp(() => shared, {
    onError: (error) => void errors.push(error),
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(`GET / HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}\r\n`);
    const first = await client.readResponse();
    const second = await client.readToEnd();
    client.close();
    assert.match(first, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nonce$/);
    assert.match(second, /^HTTP\/1\.1 500 /);
    assert.equal(errors.length, 1);
  } finally {
    await server.shutdown();
  }
});
