// The handler's Request is built the way Deno.serve builds its own (an inner
// record, URL and Headers made when read): what a handler observes must be
// what `new Request(url, init)` would give it.

import assert from "node:assert/strict";
import { fastRequestSupported } from "../../http/_fast_request.ts";
import type { HttpServeHandlerInfo } from "../../http/mod.ts";
import { RawClient, startTcp, statuses } from "./_helpers.ts";

Deno.test("the server builds requests without the Request constructor on this Deno", () => {
  // Fails when a Deno upgrade changes the Request internals it relies on;
  // the server then still works, through the constructor.
  assert.equal(fastRequestSupported, true);
});

interface Seen {
  view: string;
  expected: string;
  sameSignal: boolean;
}

async function rebuilt(r: Request): Promise<unknown[]> {
  return [r.url, r.method, [...r.headers], await r.text()];
}

/** What a handler reads of a request, in a comparable form. */
async function viewOf(req: Request): Promise<string> {
  const copy = req.clone();
  const copy2 = req.clone();
  const copy3 = req.clone();
  const headers = [...req.headers];
  req.headers.append("x-added", "1");
  return JSON.stringify({
    instance: req instanceof Request,
    url: req.url,
    method: req.method,
    headers,
    getMixedCase: req.headers.get("X-Multi"),
    added: req.headers.get("x-added"),
    redirect: req.redirect,
    cache: req.cache,
    mode: req.mode,
    credentials: req.credentials,
    bodyUsedBefore: req.bodyUsed,
    hasBody: req.body !== null,
    cloneText: await copy.text(),
    text: await req.text(),
    bodyUsedAfter: req.bodyUsed,
    inspect: Deno.inspect(req).split("\n")[0],
    // What fetch(req) and a proxy's `new Request(req, init)` do.
    rebuilt: await rebuilt(new Request(copy2)),
    rebuiltWithInit: await rebuilt(
      new Request(copy3, { method: "PATCH", headers: { "x-new": "1" } }),
    ),
  });
}

async function observe(
  wire: string,
  bodyOf: (method: string) => BodyInit | null,
): Promise<Seen> {
  let seen: Seen | null = null;
  const server = startTcp(async (req: Request, info: HttpServeHandlerInfo) => {
    const sameSignal = req.signal === info.signal;
    // The same request through the public constructor, from what arrived.
    const body = bodyOf(req.method);
    const twin = new Request(req.url, {
      method: req.method,
      headers: [...req.headers],
      body,
    });
    const expected = await viewOf(twin);
    seen = { view: await viewOf(req), expected, sameSignal };
    return new Response("ok");
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(wire);
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [200]);
  } finally {
    await server.shutdown();
  }
  assert.ok(seen !== null, "the handler ran");
  return seen;
}

Deno.test("a handler sees the same request as the constructor would make: GET", async () => {
  const seen = await observe(
    "GET /a/./b/../c?q=%7e&r=x%20y HTTP/1.1\r\nHost: Example.COM:80\r\n" +
      "X-Multi: one\r\nx-multi: two\r\nConnection: close\r\n\r\n",
    () => null,
  );
  assert.equal(seen.view, seen.expected);
  assert.ok(seen.sameSignal, "req.signal is info.signal");
  const view = JSON.parse(seen.view);
  // Normalised as the URL standard says: dot segments, host case, port.
  assert.equal(view.url, "http://example.com/a/c?q=%7e&r=x%20y");
  assert.equal(view.getMixedCase, "one, two");
  assert.match(view.inspect, /^Request \{/);
});

Deno.test("a handler sees the same request as the constructor would make: POST with a body", async () => {
  const body = "hello body";
  const seen = await observe(
    `POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    () => new TextEncoder().encode(body),
  );
  assert.equal(seen.view, seen.expected);
  const view = JSON.parse(seen.view);
  assert.equal(view.text, body);
  assert.equal(view.cloneText, body);
  assert.equal(view.bodyUsedAfter, true);
});

Deno.test("a handler sees the same request as the constructor would make: chunked PUT", async () => {
  const seen = await observe(
    "PUT /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" +
      "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    () => new TextEncoder().encode("hello world"),
  );
  assert.equal(seen.view, seen.expected);
  assert.equal(JSON.parse(seen.view).text, "hello world");
});

Deno.test("every method the parser accepts reaches the handler as sent", async () => {
  const methods: string[] = [];
  const server = startTcp((req) => {
    methods.push(req.method);
    return new Response(null, { status: 204 });
  });
  const sent = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      sent.map((m) => `${m} /x HTTP/1.1\r\nHost: a\r\n\r\n`).join("") +
        // Methods are case-sensitive (RFC 9110 9.1): "get" is not GET.
        "get /x HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [...sent.map(() => 204), 501]);
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(methods, sent);
});

Deno.test("a Host the URL parser refuses gets 400 and never reaches the handler", async () => {
  let calls = 0;
  const server = startTcp(() => {
    calls++;
    return new Response("ok");
  });
  try {
    for (const host of ["1.2.3.999", "xn--a"]) {
      const client = await RawClient.tcp(server);
      await client.send(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      const text = await client.readToEnd();
      client.close();
      assert.deepEqual(statuses(text), [400], `Host: ${host}`);
    }
  } finally {
    await server.shutdown();
  }
  assert.equal(calls, 0);
});
