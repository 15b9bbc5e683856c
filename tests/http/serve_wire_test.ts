// The server at the wire level: raw bytes over loopback TLS (and TCP).

import assert from "node:assert/strict";
import { RawClient, startTcp, startTls, statuses } from "./_helpers.ts";

const H = "Host: localhost\r\n";

Deno.test("httpServeTlsOpts() serves many requests on one keep-alive connection", async () => {
  const server = startTls((req, info) =>
    new Response(`${new URL(req.url).pathname} #${info.requestIndex}`)
  );
  await using client = await RawClient.tls(server);
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    await client.send(`GET /r${i} HTTP/1.1\r\n${H}\r\n`);
    const res = await client.readResponse();
    assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(
      res,
      /\r\ndate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/,
    );
    assert.doesNotMatch(res, /connection: close/i);
    bodies.push(res.slice(res.indexOf("\r\n\r\n") + 4));
  }
  assert.deepEqual(bodies, ["/r0 #0", "/r1 #1", "/r2 #2"]);
  assert.equal(server.stats().acceptedConnections, 1);
  assert.equal(server.stats().requestsServed, 3);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers pipelined requests in order", async () => {
  const server = startTls(async (req) => {
    const path = new URL(req.url).pathname;
    // The first answer is the slowest: order must still hold.
    if (path === "/a") await new Promise((r) => setTimeout(r, 30));
    return new Response(path + ":" + await req.text());
  });
  await using client = await RawClient.tls(server);
  await client.send(
    `PUT /a HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nAAA` +
      `GET /b HTTP/1.1\r\n${H}\r\n` +
      `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nC\r\n0\r\n\r\n`,
  );
  const bodies = [];
  for (let i = 0; i < 3; i++) {
    const res = await client.readResponse();
    bodies.push(res.slice(res.indexOf("\r\n\r\n") + 4));
  }
  assert.deepEqual(bodies, ["/a:AAA", "/b:", "/c:C"]);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() streams a chunked request body with extensions and trailers", async () => {
  let trailerSeen = false;
  const server = startTls(async (req) => {
    const text = await req.text();
    trailerSeen = !req.headers.has("x-trailer");
    return new Response(text.toUpperCase());
  });
  await using client = await RawClient.tls(server);
  await client.send(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
      `5;ext=val\r\nhello\r\n6;a="q \\"x\\""\r\n world\r\n0\r\nX-Trailer: v\r\n\r\n`,
  );
  const res = await client.readResponse();
  assert.match(res, /^HTTP\/1\.1 200 OK/);
  assert.match(res, /\r\n\r\nHELLO WORLD$/);
  assert.ok(trailerSeen, "trailers are never merged into the headers");
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() sends a streamed response chunked and a complete one with Content-Length", async () => {
  const server = startTls((req) => {
    if (new URL(req.url).pathname === "/fixed") return new Response("fixed!");
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 1));
        if (i === 3) return controller.close();
        controller.enqueue(new TextEncoder().encode(`part${i++};`));
      },
    });
    return new Response(body);
  });
  await using client = await RawClient.tls(server);
  await client.send(`GET /stream HTTP/1.1\r\n${H}\r\n`);
  const streamed = await client.readUntil("0\r\n\r\n");
  assert.match(streamed, /transfer-encoding: chunked\r\n/);
  assert.doesNotMatch(streamed, /content-length/);
  assert.ok(
    streamed.endsWith(
      "\r\n\r\n6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n",
    ),
    streamed,
  );
  await client.send(`GET /fixed HTTP/1.1\r\n${H}\r\n`);
  const fixed = await client.readResponse();
  assert.match(fixed, /content-length: 6\r\n/);
  assert.ok(fixed.endsWith("\r\n\r\nfixed!"));
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() sends 100 Continue only when the handler reads the body", async () => {
  const server = startTls(async (req) => {
    if (new URL(req.url).pathname === "/ignore") return new Response("no");
    return new Response("got " + await req.text());
  });
  {
    await using client = await RawClient.tls(server);
    await client.send(
      `POST /read HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
    );
    assert.equal(
      await client.readUntil("\r\n\r\n"),
      "HTTP/1.1 100 Continue\r\n\r\n",
    );
    await client.send("hello");
    const res = await client.readResponse();
    assert.match(res, /^HTTP\/1\.1 200 OK/);
    assert.ok(res.endsWith("got hello"));
  }
  {
    await using client = await RawClient.tls(server);
    await client.send(
      `POST /ignore HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
    );
    const res = await client.readToEnd();
    assert.deepEqual(statuses(res), [200]);
    assert.match(res, /connection: close/);
  }
  {
    await using client = await RawClient.tls(server);
    // HTTP/1.0 never gets a 1xx; the body follows at once.
    await client.send(
      `POST /read HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi`,
    );
    const res = await client.readToEnd();
    assert.doesNotMatch(res, /100 Continue/);
    assert.ok(res.endsWith("got hi"));
  }
  {
    await using client = await RawClient.tls(server);
    // The body came with the head: no 100, the final answer only, and the
    // connection stays in step for the next request.
    await client.send(
      `POST /read HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello` +
        `GET /ignore HTTP/1.1\r\n${H}\r\n`,
    );
    const res = await client.readUntil("no");
    assert.deepEqual(statuses(res), [200, 200]);
    assert.match(res, /got hello/);
    client.close();
  }
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers HEAD from the GET handler without a body", async () => {
  const server = startTls((req) => {
    if (req.method !== "GET") return new Response(null, { status: 405 });
    return new Response("twelve bytes", { headers: { "x-get": "yes" } });
  });
  await using client = await RawClient.tls(server);
  await client.send(
    `HEAD / HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}\r\n`,
  );
  const text = await client.readUntil("twelve bytes");
  const [head, get] = text.split(/(?=HTTP\/1\.1 )/);
  assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head!, /x-get: yes\r\n/);
  assert.match(head!, /content-length: 12\r\n/);
  assert.ok(head!.endsWith("\r\n\r\n"), "no body after the HEAD head");
  assert.ok(get!.endsWith("\r\n\r\ntwelve bytes"));
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers OPTIONS * itself and fills in unanswered OPTIONS", async () => {
  const seen: string[] = [];
  const server = startTls((req) => {
    seen.push(`${req.method} ${new URL(req.url).pathname}`);
    const path = new URL(req.url).pathname;
    if (req.method === "OPTIONS" && path === "/own") {
      return new Response(null, { status: 200, headers: { allow: "GET" } });
    }
    if (req.method === "OPTIONS" && path === "/limited") {
      return new Response(null, {
        status: 405,
        headers: { allow: "GET, PUT" },
      });
    }
    if (req.method === "OPTIONS") return new Response(null, { status: 501 });
    return new Response("ok");
  });
  await using client = await RawClient.tls(server);
  await client.send(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
  const star = await client.readResponse();
  assert.match(star, /^HTTP\/1\.1 204 No Content\r\n/);
  assert.match(star, /allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/);
  await client.send(`OPTIONS /own HTTP/1.1\r\n${H}\r\n`);
  assert.match(
    await client.readResponse(),
    /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*allow: GET\r\n/,
  );
  await client.send(`OPTIONS /limited HTTP/1.1\r\n${H}\r\n`);
  const limited = await client.readResponse();
  assert.match(limited, /^HTTP\/1\.1 204 No Content\r\n/);
  assert.match(limited, /allow: GET, PUT\r\n/);
  await client.send(`OPTIONS /other HTTP/1.1\r\n${H}\r\n`);
  assert.match(
    await client.readResponse(),
    /^HTTP\/1\.1 204 No Content\r\n(.*\r\n)*allow: GET, HEAD/,
  );
  assert.deepEqual(seen, [
    "OPTIONS /own",
    "OPTIONS /limited",
    "OPTIONS /other",
  ]);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() honours Connection: close and HTTP/1.0 keep-alive rules", async () => {
  const server = startTls(() => new Response("x"));
  const cases: [string, boolean][] = [
    [`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, false],
    [`GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`, false],
    ["GET / HTTP/1.0\r\n\r\n", false],
    ["GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true],
  ];
  for (const [request, keepAlive] of cases) {
    await using client = await RawClient.tls(server);
    // A second request after it is answered only on a kept-alive connection.
    await client.send(request + `GET /second HTTP/1.1\r\n${H}\r\n`);
    if (keepAlive) {
      const text = await client.readUntil("HTTP/1.1 200", 2);
      assert.match(text, /connection: keep-alive\r\n/);
    } else {
      const text = await client.readToEnd();
      assert.deepEqual(statuses(text), [200], request);
      assert.match(text, /connection: close\r\n/);
    }
  }
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() closes after maxRequestsPerConnection", async () => {
  const server = startTls(() => new Response("x"), {
    maxRequestsPerConnection: 2,
  });
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`.repeat(3));
  const text = await client.readToEnd();
  assert.deepEqual(statuses(text), [200, 200]);
  assert.equal(text.match(/connection: close/g)?.length, 1);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers 500 when the handler throws and reports it to onError", async () => {
  const errors: unknown[] = [];
  const failure = new Error("Handler failed");
  const server = startTls(() => {
    throw failure;
  }, { onError: (error) => void errors.push(error) });
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  const res = await client.readResponse();
  assert.match(res, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
  assert.deepEqual(errors, [failure]);
  assert.equal(server.stats().handlerErrors, 1);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() sends no body for 204 and 304", async () => {
  const server = startTls((req) =>
    new Response(null, { status: req.url.endsWith("/204") ? 204 : 304 })
  );
  await using client = await RawClient.tls(server);
  await client.send(
    `GET /204 HTTP/1.1\r\n${H}\r\nGET /304 HTTP/1.1\r\n${H}\r\n`,
  );
  const text = await client.readUntil("\r\n\r\n", 2);
  assert.deepEqual(statuses(text), [204, 304]);
  assert.doesNotMatch(text, /content-length|transfer-encoding/);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() closes the connection when the handler answers Connection: close", async () => {
  const server = startTls(() =>
    new Response("bye", { headers: { connection: "close" } })
  );
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}\r\n`);
  const text = await client.readToEnd();
  assert.deepEqual(statuses(text), [200]);
  assert.match(text, /connection: close\r\n/);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers 413 when a chunked body outgrows maxBodyBytes", async () => {
  let bodyError: unknown;
  const server = startTls(async (req) => {
    try {
      await req.text();
    } catch (error) {
      bodyError = error;
    }
    return new Response("handler answer");
  }, { maxBodyBytes: 10 });
  await using client = await RawClient.tls(server);
  await client.send(
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n`,
  );
  const text = await client.readToEnd();
  assert.deepEqual(statuses(text), [413]);
  assert.match(text, /connection: close\r\n/);
  assert.equal((bodyError as { status?: number }).status, 413);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeOpts() answers Deno.upgradeWebSocket() with 501, never a 101 it cannot honour", async () => {
  const errors: unknown[] = [];
  const server = startTcp((req) => Deno.upgradeWebSocket(req).response, {
    onError: (error) => {
      errors.push(error);
    },
  });
  // A real WebSocket client sees the handshake refused, not a socket that
  // opens onto an HTTP connection.
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/chat`);
  const events: string[] = [];
  await new Promise<void>((resolve) => {
    ws.onopen = () => events.push("open");
    ws.onerror = () => events.push("error");
    ws.onclose = () => resolve();
  });
  assert.deepEqual(events, ["error"]);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /does not support upgrades/);
  assert.equal(server.stats().handlerErrors, 1);
  // On the wire: a final 501, and the connection stays usable for HTTP.
  await using client = await RawClient.tcp(server);
  await client.send(
    "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const res = await client.readResponse();
  assert.match(res, /^HTTP\/1\.1 501 Not Implemented\r\n/);
  const [head, body] = res.split("\r\n\r\n");
  assert.doesNotMatch(head!, /^(upgrade|sec-websocket-accept):/im);
  assert.match(body!, /does not support protocol upgrades/);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeOpts() answers a handler's Response.error() with 500 and onError", async () => {
  const errors: unknown[] = [];
  const server = startTcp(() => Response.error(), {
    onError: (error) => {
      errors.push(error);
    },
  });
  await using client = await RawClient.tcp(server);
  await client.send(
    "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  const res = await client.readUntil("Error\n", 2);
  assert.deepEqual(statuses(res), [500, 500]);
  assert.equal(errors.length, 2);
  assert.match(String(errors[0]), /Response\.error\(\)/);
  client.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeOpts() answered early, a closing client can send the rest of its upload without a reset", async () => {
  // RFC 9112 §9.6: closing on unread request bytes makes the kernel reset
  // the connection, which can destroy the response before the client reads
  // it. The rest of the body is read and dropped before the close.
  const server = startTcp(() => new Response("no", { status: 401 }));
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  const chunk = new Uint8Array(16_384);
  const encoder = new TextEncoder();
  await conn.write(encoder.encode(
    `POST /upload HTTP/1.1\r\n${H}Connection: close\r\n` +
      `Content-Length: ${4 * chunk.length}\r\n\r\n`,
  ));
  const buf = new Uint8Array(4096);
  let text = "";
  while (!text.endsWith("\r\n\r\nno")) {
    const n = await conn.read(buf);
    assert.notEqual(n, null, `Connection ended early: ${text}`);
    text += new TextDecoder().decode(buf.subarray(0, n!));
  }
  assert.match(text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(text, /\r\nconnection: close\r\n/);
  // The client goes on with its body, as an uploading client does; a reset
  // would fail one of these writes.
  for (let i = 0; i < 4; i++) {
    await conn.write(chunk);
    await new Promise((r) => setTimeout(r, 20));
  }
  await conn.closeWrite();
  assert.equal(await conn.read(buf), null);
  conn.close();
  await server.shutdown({ graceMs: 1_000 });
});
