// HttpServer.shutdown(): stop accepting, close idle connections, finish
// in-flight requests completely, then force what is left after graceMs.

import assert from "node:assert/strict";
import { RawClient, startTls, statuses } from "./_helpers.ts";

const H = "Host: localhost\r\n";

Deno.test("HttpServer.shutdown() answers every in-flight request completely with Connection: close", async () => {
  let started = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const server = startTls(async () => {
    started++;
    await gate;
    // A streamed body that is still being produced when shutdown begins.
    let i = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          await new Promise((r) => setTimeout(r, 5));
          if (i++ === 5) return c.close();
          c.enqueue(new TextEncoder().encode("x".repeat(1000)));
        },
      }),
    );
  });
  const clients = await Promise.all(
    Array.from({ length: 4 }, () => RawClient.tls(server)),
  );
  const idle = await RawClient.tls(server);
  await idle.send(`OPTIONS * HTTP/1.1\r\n${H}\r\n`);
  await idle.readResponse();
  for (const c of clients) await c.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  while (started < clients.length) await new Promise((r) => setTimeout(r, 5));
  const finished = server.shutdown({ graceMs: 5_000 });
  // The idle keep-alive connection is closed at once.
  assert.equal(await idle.readToEnd(), "");
  // No new connection is accepted.
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
  release();
  for (const c of clients) {
    const text = await c.readToEnd();
    assert.deepEqual(statuses(text), [200]);
    assert.match(text, /connection: close\r\n/);
    assert.ok(text.endsWith("0\r\n\r\n"), "the whole chunked body arrived");
    assert.equal(text.split("x".repeat(1000)).length - 1, 5);
    c.close();
  }
  idle.close();
  await finished;
  assert.equal(server.stats().openConnections, 0);
});

Deno.test("HttpServer.shutdown() aborts handlers' signals after graceMs and closes their connections", async () => {
  let reason: unknown;
  const server = startTls((_req, info) =>
    new Promise<Response>((_, reject) => {
      info.signal.addEventListener("abort", () => {
        reason = info.signal.reason;
        reject(info.signal.reason);
      }, { once: true });
    }), { onError: () => {} });
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  while (server.stats().requestsInFlight === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await server.shutdown({ graceMs: 50 });
  assert.ok(reason instanceof DOMException);
  assert.equal(await client.readToEnd(), "");
});

Deno.test("HttpServer info.signal aborts when the client goes away", async () => {
  let aborted!: () => void;
  const abortedP = new Promise<void>((r) => aborted = r);
  const server = startTls((_req, info) =>
    new Promise<Response>((resolve) => {
      info.signal.addEventListener("abort", () => {
        aborted();
        resolve(new Response("too late"));
      }, { once: true });
    })
  );
  const client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  while (server.stats().requestsInFlight === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  client.close();
  await abortedP;
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("HttpServer stops when its signal aborts and supports await using", async () => {
  const controller = new AbortController();
  let server;
  {
    await using s = startTls(() => new Response("ok"), {
      signal: controller.signal,
    });
    server = s;
    controller.abort();
    await s.finished;
  }
  assert.equal(server.stats().openConnections, 0);
});

Deno.test("HttpServer stops waiting for a handler that never answers once its client has gone", async () => {
  const server = startTls(() => new Promise<Response>(() => {}));
  const client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  while (server.stats().requestsInFlight === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  client.close();
  while (server.stats().openConnections > 0) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(server.stats().requestsInFlight, 0);
  await server.shutdown({ graceMs: 1_000 });
});
