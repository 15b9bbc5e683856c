// httpServeTlsOpts() deadlines: handshake, header (slowloris), body, idle
// keep-alive and write. Short real timers, because real sockets are involved.

import assert from "node:assert/strict";
import { pendingHandshakeSockets } from "../../tls/mod.ts";
import { RawClient, startTls, statuses } from "./_helpers.ts";

const H = "Host: localhost\r\n";

Deno.test("httpServeTlsOpts() cuts off a slowloris client with 408 while serving a normal one", async () => {
  const server = startTls(() => new Response("ok"), { headerTimeoutMs: 300 });
  await using slow = await RawClient.tls(server);
  const trickle = (async () => {
    const head = `GET / HTTP/1.1\r\n${H}X-Slow: ${"a".repeat(100)}\r\n\r\n`;
    for (const ch of head) {
      try {
        await slow.send(ch);
      } catch {
        return; // The server closed the connection: the expected outcome.
      }
      await new Promise((r) => setTimeout(r, 20));
      if (slow.eof) return;
    }
  })();
  await using normal = await RawClient.tls(server);
  for (let i = 0; i < 3; i++) {
    await normal.send(`GET / HTTP/1.1\r\n${H}\r\n`);
    assert.match(await normal.readResponse(), /^HTTP\/1\.1 200 OK/);
  }
  const text = await slow.readToEnd();
  await trickle;
  assert.deepEqual(statuses(text), [408]);
  assert.equal(server.stats().timeouts.header, 1);
  normal.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() answers 408 when a request body stalls for bodyTimeoutMs", async () => {
  let bodyError: unknown;
  const server = startTls(async (req) => {
    try {
      await req.text();
    } catch (error) {
      bodyError = error;
    }
    return new Response("unreachable");
  }, { bodyTimeoutMs: 200 });
  await using client = await RawClient.tls(server);
  await client.send(`POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`);
  const text = await client.readToEnd();
  assert.deepEqual(statuses(text), [408]);
  assert.equal(server.stats().timeouts.body, 1);
  await server.shutdown({ graceMs: 1_000 });
  assert.ok(
    bodyError !== undefined,
    "the handler never sees a truncated body as complete",
  );
});

Deno.test("httpServeTlsOpts() closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
  const server = startTls(() => new Response("ok"), {
    keepAliveTimeoutMs: 150,
  });
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await client.readResponse(), /^HTTP\/1\.1 200 OK/);
  assert.equal(await client.readToEnd(), "", "closed without a response");
  assert.equal(server.stats().timeouts.idle, 1);
  assert.equal(server.stats().openConnections, 0);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() closes a connection whose client stops reading after writeTimeoutMs", async () => {
  let cancelled = false;
  const chunk = new Uint8Array(64 * 1024);
  const server = startTls(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull: (c) => c.enqueue(chunk),
        cancel: () => void (cancelled = true),
      }),
    ), { writeTimeoutMs: 200 });
  await using client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  // Never read: the kernel buffers fill and the server's write blocks.
  while (server.stats().timeouts.write === 0) {
    await new Promise((r) => setTimeout(r, 50));
  }
  client.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.ok(cancelled, "the response body stream is cancelled");
});

Deno.test("httpServeTlsOpts() gives up a TLS handshake after handshakeTimeoutMs", async () => {
  const server = startTls(() => new Response("ok"), {}, 150);
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  while (server.stats().timeouts.handshake === 0) {
    await new Promise((r) => setTimeout(r, 30));
  }
  // The peer's close releases the socket the runtime still holds.
  tcp.close();
  assert.equal(server.stats().openConnections, 0);
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts() shutdown() closes a handshake in progress after graceMs, and counts it abandoned", async () => {
  const server = startTls(() => new Response("ok"), {}, 60_000);
  const before = server.stats().abandonedTlsHandshakes;
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.addr.port,
  });
  // Accepted and handshaking (the client sends nothing).
  while (pendingHandshakeSockets().pending === 0) {
    await new Promise((r) => setTimeout(r, 10));
  }
  // Without the forced close it would wait out the 60 s handshake deadline.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    server.shutdown({ graceMs: 50 }).then(() => "finished"),
    new Promise((r) => timer = setTimeout(() => r("still waiting"), 5_000)),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, "finished");
  assert.equal(server.stats().abandonedTlsHandshakes, before + 1);
  assert.equal(server.stats().openConnections, 0);
  // The peer's close releases the socket the runtime still holds.
  tcp.close();
});
