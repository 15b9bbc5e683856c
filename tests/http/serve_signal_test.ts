// req.signal and info.completed behave as in Deno.serve, so a handler moves
// between the two servers unchanged.

import assert from "node:assert/strict";
import type { HttpServer } from "../../http/mod.ts";
import { RawClient, startTls } from "./_helpers.ts";

const H = "Host: localhost\r\n";

async function untilInFlight(server: HttpServer): Promise<void> {
  while (server.stats().requestsInFlight === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("HttpServer req.signal aborts when the client goes away", async () => {
  const aborted = Promise.withResolvers<unknown>();
  let same = false;
  const server = startTls((req, info) =>
    new Promise<Response>((resolve) => {
      same = req.signal === info.signal;
      req.signal.addEventListener("abort", () => {
        aborted.resolve(req.signal.reason);
        resolve(new Response("too late"));
      }, { once: true });
    })
  );
  const client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  await untilInFlight(server);
  client.close();
  const reason = await aborted.promise;
  assert.ok(reason instanceof DOMException);
  assert.equal(reason.name, "AbortError");
  assert.ok(same, "req.signal is info.signal");
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("HttpServer req.signal stays quiet and info.completed resolves when the response is delivered", async () => {
  const outcome = Promise.withResolvers<string>();
  let signal: AbortSignal | null = null;
  const server = startTls((req, info) => {
    signal = req.signal;
    info.completed.then(
      () => outcome.resolve(`delivered, aborted ${req.signal.aborted}`),
      (error) => outcome.resolve(`failed ${error.name}`),
    );
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("streamed "));
          controller.enqueue(new TextEncoder().encode("body"));
          controller.close();
        },
      }),
    );
  });
  const client = await RawClient.tls(server);
  // Connection: close: the connection ends right after the response.
  await client.send(`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  const text = await client.readToEnd();
  assert.match(text, /^HTTP\/1\.1 200 OK/);
  // Both chunks and the end were ready at once: sent with its length.
  assert.match(text, /\r\ncontent-length: 13\r\n\r\nstreamed body$/);
  assert.equal(await outcome.promise, "delivered, aborted false");
  client.close();
  await server.shutdown();
  assert.equal(signal!.aborted, false);
});

Deno.test("HttpServer counts the last response of a client that asked to close as delivered and complete", async () => {
  const records: string[] = [];
  const outcomes: string[] = [];
  const server = startTls((req, info) => {
    info.completed.then(
      () => outcomes.push(`delivered, aborted ${req.signal.aborted}`),
      (error) => outcomes.push(`failed ${error.name}`),
    );
    return new Response("bye");
  }, {
    hooks: {
      onResponseEnd: (r) =>
        records.push(`${r.protocol} ${r.status} ${r.bytesSent} ${r.complete}`),
    },
  });
  for (
    const request of [
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
      `GET / HTTP/1.0\r\n\r\n`,
    ]
  ) {
    const client = await RawClient.tls(server);
    await client.send(request);
    // The whole response, then the end of the connection.
    const text = await client.readToEnd();
    assert.match(text, /^HTTP\/1\.[01] 200 OK\r\n/);
    assert.match(text, /\r\nconnection: close\r\n/);
    assert.match(text, /\r\ncontent-length: 3\r\n\r\nbye$/);
    client.close();
  }
  await server.shutdown();
  assert.deepEqual(outcomes, [
    "delivered, aborted false",
    "delivered, aborted false",
  ]);
  assert.equal(records.length, 2);
  assert.match(
    records.join("\n"),
    /^HTTP\/1\.1 200 \d+ true\nHTTP\/1\.0 200 \d+ true$/,
  );
  assert.equal(server.stats().requestsServed, 2);
});
Deno.test("HttpServer info.completed rejects with Interrupted when the response cannot be delivered", async () => {
  const outcome = Promise.withResolvers<unknown>();
  const release = Promise.withResolvers<void>();
  const server = startTls(async (_req, info) => {
    info.completed.then(
      () => outcome.resolve("delivered"),
      (error) => outcome.resolve(error),
    );
    await release.promise;
    return new Response("late");
  });
  const client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  await untilInFlight(server);
  // The grace ends before the handler answers: the connection closes.
  await server.shutdown({ graceMs: 0 });
  const error = await outcome.promise;
  assert.ok(error instanceof Deno.errors.Interrupted, String(error));
  release.resolve();
  client.close();
});

Deno.test("HttpServer info.completed asked for after the response still settles", async () => {
  const infos = Promise.withResolvers<{ completed: Promise<void> }>();
  const server = startTls((_req, info) => {
    // Read later, once the response has gone out.
    setTimeout(() => infos.resolve(info), 50);
    return new Response("ok");
  });
  const client = await RawClient.tls(server);
  await client.send(`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  assert.match(await client.readToEnd(), /\r\n\r\nok$/);
  const info = await infos.promise;
  await info.completed;
  client.close();
  await server.shutdown();
});
