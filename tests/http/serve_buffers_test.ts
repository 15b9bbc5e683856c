// Receive buffers are reused across connections (and servers of a process):
// a handler that outlives its connection must never see another
// connection's bytes.

import assert from "node:assert/strict";
import { RawClient, startTcp } from "./_helpers.ts";

Deno.test("httpServeOpts() handler abandoned at shutdown never reads another connection's bytes", async () => {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const outcome = Promise.withResolvers<string>();
  const first = startTcp(async (req) => {
    started.resolve();
    await release.promise;
    try {
      outcome.resolve(`read ${await req.text()}`);
    } catch (error) {
      outcome.resolve(`error ${(error as Error).name}`);
    }
    return new Response("late");
  });
  const a = await RawClient.tcp(first);
  // Five of twenty body bytes: the rest of the body is still to come.
  await a.send(
    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\nAAAAA",
  );
  await started.promise;
  // No grace: the connection closes under the running handler.
  await first.shutdown({ graceMs: 0 });
  a.close();

  const second = startTcp(async (req) =>
    new Response(`got ${(await req.text()).length}`)
  );
  const b = await RawClient.tcp(second);
  const secret = "SECRET".repeat(10);
  await b.send(
    `POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: ${secret.length}\r\n\r\n${secret}`,
  );
  const res = await b.readResponse();
  assert.match(res, /^HTTP\/1\.1 200 OK/);
  assert.ok(res.endsWith(`got ${secret.length}`));

  release.resolve();
  const result = await outcome.promise;
  assert.ok(!result.includes("SECRET"), result);
  assert.ok(!result.includes("POST /b"), result);
  assert.match(result, /^error /);
  b.close();
  await second.shutdown();
});

Deno.test("httpServeOpts() serves many short connections in a row with reused buffers", async () => {
  const server = startTcp(async (req) =>
    new Response(
      `${req.method} ${new URL(req.url).pathname} ${await req.text()}`,
    )
  );
  try {
    for (let i = 0; i < 40; i++) {
      const c = await RawClient.tcp(server);
      const body = `body-${i}`;
      await c.send(
        `POST /n${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      const text = await c.readToEnd();
      c.close();
      assert.match(text, /^HTTP\/1\.1 200 OK/);
      assert.ok(text.endsWith(`POST /n${i} ${body}`), text);
    }
  } finally {
    await server.shutdown();
  }
});
