// The handler's Request is built the way Deno.serve builds its own (an inner
// record, URL and Headers made when read): what a handler observes must be
// what `new Request(url, init)` would give it.

import assert from "node:assert/strict";
import fc from "fast-check";
import { keptByUrlParser, TARGET } from "../../http/_tokens.ts";
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

Deno.test("a body that came whole with its head reads every way, and the request behind it is served", async () => {
  const seen: unknown[] = [];
  const server = startTcp(async (req: Request) => {
    const url = new URL(req.url);
    if (url.pathname === "/json") seen.push(await req.json());
    else if (url.pathname === "/form") {
      seen.push([...(await req.formData())]);
    } else if (url.pathname === "/stream") {
      const chunks: number[] = [];
      for await (const c of req.body!) chunks.push(...c);
      seen.push(new TextDecoder().decode(new Uint8Array(chunks)));
    } else if (url.pathname === "/echo") return new Response(req.body);
    else if (url.pathname === "/clone") {
      const copy = req.clone();
      seen.push([await req.text(), await copy.text(), req.bodyUsed]);
    } else seen.push(`${req.method} ${url.pathname} ${req.body === null}`);
    return new Response("ok");
  });
  try {
    const client = await RawClient.tcp(server);
    const post = (path: string, type: string, body: string) =>
      `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: ${type}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    // All in one write: each body is in the buffer with its head.
    await client.send(
      post("/json", "application/json", '{"a":[1,2]}') +
        post("/form", "application/x-www-form-urlencoded", "x=1&y=%C3%A9") +
        post("/stream", "text/plain", "streamed") +
        post("/echo", "text/plain", "echo me") +
        post("/clone", "text/plain", "twice") +
        // A GET's body is not the handler's; it is skipped, not parsed.
        "GET /get HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\n" +
        "GET /x HTTP/1.1" +
        "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [200, 200, 200, 200, 200, 200, 200]);
    // The echo knows its length: the body was all there.
    assert.match(text, /content-length: 7\r\n\r\necho me/i);
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(seen, [
    { a: [1, 2] },
    [["x", "1"], ["y", "é"]],
    "streamed",
    ["twice", "twice", true],
    "GET /get true",
    "GET /last true",
  ]);
});

Deno.test("a body that arrives after its head is streamed to the handler as before", async () => {
  let got = "";
  const server = startTcp(async (req: Request) => {
    got = await req.text();
    return new Response("ok");
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello",
    );
    // The handler is already reading when the rest comes.
    await new Promise((r) => setTimeout(r, 50));
    await client.send("world");
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [200]);
  } finally {
    await server.shutdown();
  }
  assert.equal(got, "helloworld");
});

Deno.test("a path the URL parser would keep is used as sent; any other goes through the parser", () => {
  // Every byte a request-target may hold, plus sequences that look like dot
  // segments or percent-encoded dots.
  const bytes = [...Array(128).keys()].filter((b) => TARGET[b] === 1)
    .map((b) => String.fromCharCode(b));
  const piece = fc.oneof(
    fc.constantFrom(...bytes),
    fc.constantFrom("/", "/.", "/..", "./", "%2e", "%2E", "%2F", "?", "'"),
  );
  const path = fc.array(piece, { maxLength: 24 }).map((a) => "/" + a.join(""));
  const origins: [string, string][] = [
    ["https://a.example", "https://a.example"],
    ["https://A.Example:443", "https://a.example"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
  ];
  let kept = 0;
  fc.assert(
    fc.property(path, fc.constantFrom(...origins), (p, [origin, canonical]) => {
      // Only well-formed percent-encodings pass the request parser.
      fc.pre(!/%(?![0-9a-fA-F]{2})/.test(p));
      const href = new URL(origin + p).href;
      if (keptByUrlParser(p)) {
        kept++;
        assert.equal(canonical + p, href);
      }
    }),
    { numRuns: 3000 },
  );
  // The fast way is taken for most of them, not vacuously never.
  assert.ok(kept > 300, `${kept} paths kept`);
  for (const p of ["/a/./b", "/a/../b", "/.", "/%2e%2E/x", "/x?it's", "/é"]) {
    assert.equal(keptByUrlParser(p), false, p);
  }
  for (const p of ["/", "/a/b.c/d?x=1&y=/z?", "/x%20y?q=%7e", "/a;b=c@d:e"]) {
    assert.equal(keptByUrlParser(p), true, p);
  }
});

Deno.test("a body handed over as bytes stays intact while the connection reads on", async () => {
  // The handler answers at once and reads the body later (a background job
  // with the request): by then the connection has read the next requests.
  const later: Promise<string>[] = [];
  const server = startTcp((req: Request) => {
    later.push(
      new Promise((r) => setTimeout(r, 30)).then(() => req.text()),
    );
    return new Response("ok");
  });
  try {
    const client = await RawClient.tcp(server);
    const post = (body: string, last = false) =>
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n` +
      `${last ? "Connection: close\r\n" : ""}\r\n${body}`;
    await client.send(post("first body"));
    assert.deepEqual(statuses(await client.readResponse()), [200]);
    await client.send(post("SECOND"));
    assert.deepEqual(statuses(await client.readResponse()), [200]);
    await client.send(post("third one", true));
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [200]);
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(await Promise.all(later), [
    "first body",
    "SECOND",
    "third one",
  ]);
});
