// Options, hooks and stats of the server engine (plain TCP).

import assert from "node:assert/strict";
import {
  type HttpResponseRecord,
  httpServeOpts,
  httpServeTlsOpts,
} from "../../http/mod.ts";
import { RawClient, startTcp } from "./_helpers.ts";

Deno.test("httpServeOpts() rejects invalid options synchronously", () => {
  const ok = () => new Response("ok");
  assert.throws(
    () => httpServeOpts({ port: 0 }, "nope" as never),
    TypeError,
  );
  assert.throws(
    () => httpServeOpts({ port: 0, headerTimeoutMs: -1 }, ok),
    RangeError,
  );
  assert.throws(
    () => httpServeOpts({ port: 0, maxHeaderCount: 1.5 }, ok),
    RangeError,
  );
  assert.throws(
    () => httpServeTlsOpts({ port: 0 }, {}, ok),
    TypeError,
  );
});

Deno.test("httpServeOpts() calls the hooks at each point of the request path", async () => {
  const events: string[] = [];
  const records: HttpResponseRecord[] = [];
  const server = startTcp(() => new Response("four"), {
    onListen: () => events.push("listen"),
    hooks: {
      onConnectionOpen: () => events.push("open"),
      onConnectionClose: (c) => events.push(`close ${c.requests}`),
      onRequestStart: (req, info) =>
        events.push(`start ${req.method} ${info.requestIndex}`),
      onResponseEnd: (r) => {
        records.push(r);
        events.push(`end ${r.status}`);
      },
      onParseError: (status) => events.push(`parse ${status}`),
      onTimeout: (kind) => events.push(`timeout ${kind}`),
    },
  });
  {
    await using client = await RawClient.tcp(server);
    await client.send("GET /x?y HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n");
    await client.readResponse();
    await client.send("GET /bad HTTP/1.1\r\n\r\n");
    await client.readToEnd();
  }
  await server.shutdown({ graceMs: 1_000 });
  assert.deepEqual(events, [
    "listen",
    "open",
    "start GET 0",
    "end 200",
    "parse 400",
    "end 400",
    "close 1",
  ]);
  const [ok, bad] = records;
  assert.equal(ok!.method, "GET");
  assert.equal(ok!.target, "/x?y");
  assert.equal(ok!.protocol, "HTTP/1.1");
  assert.equal(ok!.bytesSent, 4);
  assert.deepEqual(ok!.headers, ["Host", "a", "User-Agent", "t"]);
  assert.equal(bad!.method, null);
  assert.equal(bad!.requestLine, "GET /bad HTTP/1.1");
  const stats = server.stats();
  assert.equal(stats.requestsServed, 2);
  assert.equal(stats.parseErrors, 1);
  assert.equal(stats.acceptedConnections, 1);
  assert.equal(stats.requestsInFlight, 0);
});

Deno.test("httpServeOpts() gives the handler addresses, index and no ALPN over TCP", async () => {
  const server = startTcp((req, info) =>
    Response.json({
      url: req.url,
      remote: info.remoteAddr.hostname,
      local: info.localAddr.port,
      alpn: info.alpnProtocol,
      index: info.requestIndex,
      aborted: info.signal.aborted,
    })
  );
  await using client = await RawClient.tcp(server);
  await client.send("GET /p HTTP/1.0\r\n\r\n");
  const res = await client.readToEnd();
  const body = JSON.parse(res.slice(res.indexOf("\r\n\r\n") + 4));
  assert.deepEqual(body, {
    url: `http://127.0.0.1:${server.addr.port}/p`,
    remote: "127.0.0.1",
    local: server.addr.port,
    alpn: null,
    index: 0,
    aborted: false,
  });
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeOpts() with an aborted signal stops at once", async () => {
  const server = startTcp(() => new Response("ok"), {
    signal: AbortSignal.abort(),
  });
  await server.finished;
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
  );
});
