// httpServeTlsOpts({ accessLog }) over real sockets: one LogTape record per
// finished response, checked field by field, with a LogTape in-memory sink.

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { HttpServerOptions } from "../../http/mod.ts";
import { RawClient, startTls, statuses } from "./_helpers.ts";

const H = "Host: localhost\r\n";

/** Runs `fn` with LogTape sending the access category to an array. */
async function withAccessSink(
  fn: (records: LogRecord[]) => Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r: LogRecord) => void records.push(r) },
    loggers: [
      { category: ["quartz", "http", "access"], sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

/** Waits until `n` records arrived (a line is logged after the last write). */
async function records(list: LogRecord[], n: number): Promise<string[]> {
  for (let i = 0; i < 400 && list.length < n; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(list.length, n, "record count");
  return list.map((r) => String(r.message[0]));
}

/** Splits a combined line into its 9 fields, unquoting the quoted ones. */
function fields(line: string): string[] {
  const m =
    /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\S+) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/
      .exec(line);
  assert.ok(m, `not a combined line: ${JSON.stringify(line)}`);
  return m.slice(1);
}

const TIME = /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/;

const streamHandler = (req: Request): Response => {
  const path = new URL(req.url).pathname;
  if (path === "/stream") {
    const parts = ["abc", "defgh", "ij"];
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          // Apart in time: sent chunked (a body ready at once gets a length).
          await new Promise((resolve) => setTimeout(resolve, 2));
          const p = parts.shift();
          if (p === undefined) c.close();
          else c.enqueue(new TextEncoder().encode(p));
        },
      }),
    );
  }
  return new Response("hello world");
};

function serve(options: HttpServerOptions = {}) {
  return startTls(streamHandler, { accessLog: true, ...options });
}

Deno.test("httpServeTlsOpts({ accessLog }) logs a combined line per response with the bytes sent", async () => {
  await withAccessSink(async (list) => {
    const server = serve();
    await using c = await RawClient.tls(server);
    await c.send(
      `GET /page?q=1 HTTP/1.1\r\n${H}Referer: https://ref.example/\r\n` +
        `User-Agent: curl/8.0\r\n\r\n`,
    );
    await c.readResponse();
    await c.send(`GET /stream HTTP/1.1\r\n${H}\r\n`);
    await c.readUntil("\r\n0\r\n\r\n");
    await c.send(`HEAD / HTTP/1.1\r\n${H}\r\n`);
    await c.readUntil("\r\n\r\n");
    const lines = await records(list, 3);
    const [a, b, d] = lines.map(fields);
    assert.equal(a![0], "127.0.0.1");
    assert.equal(a![1], "-");
    assert.equal(a![2], "-");
    assert.match(a![3]!, TIME);
    assert.equal(a![4], "GET /page?q=1 HTTP/1.1");
    assert.equal(a![5], "200");
    assert.equal(a![6], "11");
    assert.equal(a![7], "https://ref.example/");
    assert.equal(a![8], "curl/8.0");
    // Chunked: the body bytes, not counting the chunk framing.
    assert.deepEqual(b!.slice(4), [
      "GET /stream HTTP/1.1",
      "200",
      "10",
      "-",
      "-",
    ]);
    // HEAD: no body bytes were sent.
    assert.deepEqual(d!.slice(4, 7), ["HEAD / HTTP/1.1", "200", "-"]);
    assert.equal(list[0]!.properties.status, 200);
    c.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});

Deno.test("httpServeTlsOpts({ accessLog }) logs shed, timed-out and rejected requests", async () => {
  await withAccessSink(async (list) => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => release = r);
    const server = startTls(async () => {
      await blocked;
      return new Response("late");
    }, {
      accessLog: true,
      maxInFlight: 1,
      maxQueueMs: 0,
      headerTimeoutMs: 150,
      maxHeaderBytes: 256,
    });
    await using holder = await RawClient.tls(server);
    await holder.send(`GET /hold HTTP/1.1\r\n${H}\r\n`);
    for (let i = 0; i < 400 && server.stats().requests.inFlight === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const texts: string[] = [];
    for (
      const req of [
        `GET /shed HTTP/1.1\r\n${H}\r\n`,
        `GET /bad HTTP/1.1\r\nNo Colon\r\n\r\n`,
        `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(400)}\r\n\r\n`,
        "GET /slo",
      ]
    ) {
      await using c = await RawClient.tls(server);
      await c.send(req);
      // The shed 503 keeps the connection open; the others close it.
      texts.push(
        req.includes("/shed") ? await c.readResponse() : await c.readToEnd(),
      );
    }
    assert.deepEqual(texts.map((t) => statuses(t)[0]), [503, 400, 431, 408]);
    const lines = (await records(list, 4)).map(fields);
    assert.deepEqual(lines[0]!.slice(4), [
      "GET /shed HTTP/1.1",
      "503",
      "-",
      "-",
      "-",
    ]);
    // Unparsed heads log their raw request line, as far as it arrived.
    assert.deepEqual(lines[1]!.slice(4, 7), ["GET /bad HTTP/1.1", "400", "-"]);
    assert.deepEqual(lines[2]!.slice(4, 7), ["GET / HTTP/1.1", "431", "-"]);
    assert.deepEqual(lines[3]!.slice(4, 7), ["GET /slo", "408", "-"]);
    release();
    await holder.readResponse();
    assert.deepEqual((await records(list, 5)).map(fields)[4]!.slice(4, 7), [
      "GET /hold HTTP/1.1",
      "200",
      "4",
    ]);
    holder.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});

Deno.test("httpServeTlsOpts({ accessLog }) logs a 503 for a connection shed after its handshake", async () => {
  await withAccessSink(async (list) => {
    const server = serve({ maxConnections: 1, shedBeforeHandshake: false });
    await using kept = await RawClient.tls(server);
    await kept.send(`GET / HTTP/1.1\r\n${H}\r\n`);
    await kept.readResponse();
    await using extra = await RawClient.tls(server);
    assert.deepEqual(statuses(await extra.readToEnd()), [503]);
    const lines = (await records(list, 2)).map(fields);
    assert.deepEqual(lines[1]!.slice(4), ["-", "503", "-", "-", "-"]);
    kept.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});

Deno.test("httpServeTlsOpts({ accessLog }) escapes injection attempts in the request", async () => {
  await withAccessSink(async (list) => {
    const server = serve();
    await using c = await RawClient.tls(server);
    await c.send(
      `GET /x HTTP/1.1\r\n${H}User-Agent: a" 200 1 "evil\\ \xff\r\n` +
        `Referer: "\r\n\r\n`,
    );
    await c.readResponse();
    await using bad = await RawClient.tls(server);
    // A control byte in the target: rejected, and logged without the byte.
    await bad.send(`GET /a\x1b[2J"\\ HTTP/1.1\r\n${H}\r\n`);
    assert.deepEqual(statuses(await bad.readToEnd()), [400]);
    const lines = await records(list, 2);
    for (const line of lines) {
      // Printable ASCII only: no raw control or non-ASCII byte got through.
      assert.ok(
        [...line].every((ch) => ch >= " " && ch <= "~"),
        JSON.stringify(line),
      );
    }
    const [a, b] = lines.map(fields);
    assert.equal(a![8], 'a\\" 200 1 \\"evil\\\\ \\xc3\\xbf');
    assert.equal(a![7], '\\"');
    assert.equal(b![4], 'GET /a\\x1b[2J\\"\\\\ HTTP/1.1');
    c.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});

Deno.test('httpServeTlsOpts({ accessLog: { format: "json" } }) logs one JSON object per response', async () => {
  await withAccessSink(async (list) => {
    const server = serve({ accessLog: { format: "json" } });
    await using c = await RawClient.tls(server);
    await c.send(`GET /j HTTP/1.1\r\n${H}User-Agent: ua\r\n\r\n`);
    await c.readResponse();
    const [line] = await records(list, 1);
    const obj = JSON.parse(line!);
    assert.equal(obj.method, "GET");
    assert.equal(obj.status, 200);
    assert.equal(obj.bytesSent, 11);
    c.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});

Deno.test("httpServeTlsOpts() logs nothing with accessLog off or no sink configured", async () => {
  await withAccessSink(async (list) => {
    const server = startTls(() => new Response("ok"));
    await using c = await RawClient.tls(server);
    await c.send(`GET / HTTP/1.1\r\n${H}\r\n`);
    await c.readResponse();
    c.close();
    await server.shutdown({ graceMs: 1_000 });
    assert.equal(list.length, 0);
  });
  const server = serve();
  await using c = await RawClient.tls(server);
  await c.send(`GET / HTTP/1.1\r\n${H}\r\n`);
  assert.match(await c.readResponse(), /^HTTP\/1\.1 200 OK/);
  c.close();
  await server.shutdown({ graceMs: 1_000 });
});

Deno.test("httpServeTlsOpts({ accessLog }) logs 408 for a request body that timed out under a handler", async () => {
  await withAccessSink(async (list) => {
    const server = startTls(async (req) => {
      try {
        await req.text();
      } catch {
        // The body timed out: the engine has answered 408 already.
      }
      return new Response("unused");
    }, { accessLog: true, bodyTimeoutMs: 100 });
    await using c = await RawClient.tls(server);
    await c.send(`POST /up HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`);
    assert.deepEqual(statuses(await c.readToEnd()), [408]);
    const [line] = (await records(list, 1)).map(fields);
    assert.deepEqual(line!.slice(4, 7), ["POST /up HTTP/1.1", "408", "-"]);
    c.close();
    await server.shutdown({ graceMs: 1_000 });
  });
});
