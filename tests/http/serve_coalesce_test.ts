// Writes the server coalesces: a small write that follows another waits for
// the client's delayed ACK (~40 ms; Nagle is on for Deno.listenTls sockets).
// Pipelined requests: responses ready while the next request is already
// received go out together, in order, in one write. Streamed bodies: what
// the stream has ready goes out in one write, the head with the first data
// and the last chunk with the last data. bench/http_bench.ts measures the
// pipelined case.

import assert from "node:assert/strict";
import { resolveConfig } from "../../http/_config.ts";
import { ServerImpl } from "../../http/_server.ts";
import type {
  HttpResponseRecord,
  HttpServeHandler,
  HttpServer,
  HttpServerOptions,
} from "../../http/mod.ts";
import { RawClient, startTcp, startTls, statuses } from "./_helpers.ts";

const H = "Host: localhost\r\n";

function bodies(text: string): string[] {
  return text.split(/HTTP\/1\.1 \d{3} [^\r]*\r\n/).slice(1).map((r) =>
    r.slice(r.indexOf("\r\n\r\n") + 4)
  );
}

/** A connection fed from a string that records each write the server makes. */
class RecordingConn {
  readonly remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 40000,
  };
  readonly localAddr: Deno.NetAddr = { ...this.remoteAddr, port: 40001 };
  readonly writes: string[] = [];
  #input: Uint8Array | null;
  #closed = Promise.withResolvers<null>();
  #failWrites: boolean;
  constructor(input: string, failWrites = false) {
    this.#input = new TextEncoder().encode(input);
    this.#failWrites = failWrites;
  }
  read(buf: Uint8Array): Promise<number | null> {
    const input = this.#input;
    if (input === null) return this.#closed.promise;
    this.#input = null;
    buf.set(input);
    return Promise.resolve(input.length);
  }
  write(data: Uint8Array): Promise<number> {
    if (this.#failWrites) {
      return Promise.reject(new Deno.errors.BrokenPipe("Peer went away"));
    }
    this.writes.push(new TextDecoder().decode(data));
    return Promise.resolve(data.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  /** As a TlsConn after its handshake (used when served as TLS). */
  handshake(): Promise<{ alpnProtocol: string | null }> {
    return Promise.resolve({ alpnProtocol: "http/1.1" });
  }
  close(): void {
    this.#closed.resolve(null);
  }
  setNoDelay(): void {}
}

/** A listener that hands out `conn` once, then waits until closed. */
function listenerOf(conn: RecordingConn): Deno.Listener {
  let given = false;
  const closed = Promise.withResolvers<Deno.Conn>();
  return {
    addr: conn.localAddr,
    accept(): Promise<Deno.Conn> {
      if (given) return closed.promise;
      given = true;
      return Promise.resolve(conn as unknown as Deno.Conn);
    },
    close(): void {
      closed.reject(new Deno.errors.BadResource("Listener closed"));
    },
  } as unknown as Deno.Listener;
}

/** The engine serving `conn` alone, as httpServeOpts() would serve it. */
function serveRecorded(
  conn: RecordingConn,
  handler: HttpServeHandler,
  options: HttpServerOptions = {},
  tls = false,
): HttpServer {
  const cfg = resolveConfig({ onListen: () => {}, ...options }, handler);
  return new ServerImpl(listenerOf(conn), cfg, tls ? 10_000 : null, {
    signal: undefined,
    tickMs: Infinity,
  });
}

async function served(server: HttpServer, count: number): Promise<void> {
  while (server.stats().requestsServed < count) {
    await new Promise((r) => setTimeout(r, 1));
  }
}

Deno.test("the server writes the responses to a pipelined run in one write", async () => {
  let wire = "";
  for (let i = 0; i < 16; i++) wire += `GET /${i} HTTP/1.1\r\n${H}\r\n`;
  const conn = new RecordingConn(wire);
  const server = serveRecorded(
    conn,
    (req) => new Response(new URL(req.url).pathname),
  );
  try {
    await served(server, 16);
    assert.equal(conn.writes.length, 1);
    assert.deepEqual(
      bodies(conn.writes[0]!),
      Array.from({ length: 16 }, (_, i) => `/${i}`),
    );
    assert.equal(server.stats().requestsInFlight, 0);
  } finally {
    await server.shutdown({ graceMs: 0 });
  }
});

Deno.test("the server writes a pipelined run of responses with headers, 204s and HEADs in one write", async () => {
  let wire = "";
  for (let i = 0; i < 4; i++) {
    wire += `GET /${i} HTTP/1.1\r\n${H}\r\n` +
      `HEAD /${i} HTTP/1.1\r\n${H}\r\n` +
      `DELETE /${i} HTTP/1.1\r\n${H}\r\n`;
  }
  const conn = new RecordingConn(wire);
  const server = serveRecorded(
    conn,
    (req) =>
      req.method === "DELETE"
        ? new Response(null, { status: 204 })
        : new Response(new URL(req.url).pathname, {
          headers: { "content-type": "text/x-a", "x-b": "1" },
        }),
  );
  try {
    await served(server, 12);
    assert.equal(conn.writes.length, 1);
    const text = conn.writes[0]!;
    assert.deepEqual(statuses(text), [
      ...Array.from({ length: 4 }, () => [200, 200, 204]).flat(),
    ]);
    assert.equal(text.match(/\r\nx-b: 1\r\n/g)?.length, 8);
    assert.deepEqual(bodies(text).filter((b) => b !== ""), [
      "/0",
      "/1",
      "/2",
      "/3",
    ]);
  } finally {
    await server.shutdown({ graceMs: 0 });
  }
});

Deno.test("the server ends a pipelined run whose write fails as not delivered", async () => {
  const wire = `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n`;
  const conn = new RecordingConn(wire, true);
  const records: HttpResponseRecord[] = [];
  const completed: Promise<void>[] = [];
  const server = serveRecorded(
    conn,
    (_req, info) => {
      completed.push(info.completed);
      return new Response("x");
    },
    { hooks: { onResponseEnd: (r) => void records.push(r) } },
  );
  try {
    await served(server, 2);
    const outcomes = await Promise.allSettled(completed);
    assert.deepEqual(outcomes.map((o) => o.status), ["rejected", "rejected"]);
    assert.deepEqual(
      records.map((r) => [r.target, r.bytesSent, r.complete]),
      [["/1", 0, false], ["/2", 0, false]],
    );
    assert.equal(server.stats().requestsInFlight, 0);
    assert.equal(server.stats().openConnections, 0);
  } finally {
    await server.shutdown({ graceMs: 0 });
  }
});

Deno.test("httpServeOpts() keeps pipelined responses in order across fast, slow, failing and rejected requests", async () => {
  const errors: unknown[] = [];
  const server = startTcp(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await new Promise((r) => setTimeout(r, 30));
    if (path === "/throw") throw new Error("handler failed");
    if (path === "/stream") {
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("streamed"));
            setTimeout(() => c.close(), 10);
          },
        }),
      );
    }
    return new Response(path);
  }, { onError: (error) => void errors.push(error) });
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      [
        "/a",
        "/slow",
        "/b",
        "/throw",
        "/c",
        "/stream",
        "/d",
      ].map((p) => `GET ${p} HTTP/1.1\r\n${H}\r\n`).join("") +
        `GET /e HTTP/1.1\r\n${H}\r\n` +
        // Malformed: answered 400 after everything before it, then closed.
        `GET /f HTTP/1.1\r\nHost : x\r\n\r\n` +
        `GET /never HTTP/1.1\r\n${H}\r\n`,
    );
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(statuses(text), [
      200,
      200,
      200,
      500,
      200,
      200,
      200,
      200,
      400,
    ]);
    const got = bodies(text);
    assert.deepEqual(got.slice(0, 3), ["/a", "/slow", "/b"]);
    assert.deepEqual(got.slice(4, 8).map((b) => b.replace(/\r\n/g, "")), [
      "/c",
      "8streamed0",
      "/d",
      "/e",
    ]);
    assert.equal(errors.length, 1);
    assert.doesNotMatch(text, /\/never/);
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeOpts() ends held-back exchanges once written: access records and info.completed", async () => {
  const records: HttpResponseRecord[] = [];
  const completed: Promise<void>[] = [];
  const server = startTcp((req, info) => {
    completed.push(info.completed);
    return new Response("body of " + new URL(req.url).pathname);
  }, { hooks: { onResponseEnd: (r) => void records.push(r) } });
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n` +
        `GET /3 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    const text = await client.readToEnd();
    client.close();
    assert.deepEqual(bodies(text), ["body of /1", "body of /2", "body of /3"]);
    // The last asked for the close: it says so, then the connection ends.
    assert.equal(text.match(/connection: close/g)?.length, 1);
    const outcomes = await Promise.allSettled(completed);
    assert.deepEqual(outcomes.map((o) => o.status), [
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    assert.deepEqual(
      records.map((r) => [r.target, r.status, r.bytesSent, r.complete]),
      [
        ["/1", 200, 10, true],
        ["/2", 200, 10, true],
        ["/3", 200, 10, true],
      ],
    );
    const stats = server.stats();
    assert.equal(stats.requestsServed, 3);
    assert.equal(stats.requestsInFlight, 0);
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeTlsOpts() answers a pipelined run larger than one batch whole and in order", async () => {
  const filler = "x".repeat(3_000);
  const server = startTls((req) =>
    new Response(new URL(req.url).pathname + " " + filler)
  );
  try {
    const client = await RawClient.tls(server);
    let wire = "";
    for (let i = 0; i < 100; i++) wire += `GET /${i} HTTP/1.1\r\n${H}\r\n`;
    await client.send(
      wire + `GET /last HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    const text = await client.readToEnd();
    client.close();
    const got = bodies(text);
    assert.equal(got.length, 101);
    got.forEach((body, i) =>
      assert.equal(body, `/${i === 100 ? "last" : i} ${filler}`)
    );
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeOpts() sends held-back responses before a streamed response's first chunk", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const server = startTcp((req) => {
    if (new URL(req.url).pathname !== "/events") {
      return new Response("plain", { headers: { "x-a": "1" } });
    }
    return new Response(
      new ReadableStream({
        async start(c) {
          await gate;
          c.enqueue(new TextEncoder().encode("event"));
          c.close();
        },
      }),
    );
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      `GET /a HTTP/1.1\r\n${H}\r\nGET /events HTTP/1.1\r\n${H}\r\n`,
    );
    // The first answer arrives while the stream has nothing yet.
    const first = await client.readResponse();
    assert.match(first, /\r\n\r\nplain$/);
    release();
    assert.match(await client.readResponse(), /\r\n\r\nevent$/);
    client.close();
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeOpts() sends held-back responses before waiting for the rest of a request", async () => {
  const server = startTcp((req) => new Response(new URL(req.url).pathname));
  try {
    const client = await RawClient.tcp(server);
    // Two whole requests and the start of a third: the two answers must not
    // wait for it.
    await client.send(
      `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\nGET /3 HT`,
    );
    const first = await client.readUntil("/2");
    assert.deepEqual(bodies(first), ["/1", "/2"]);
    await client.send(`TP/1.1\r\n${H}Connection: close\r\n\r\n`);
    assert.deepEqual(bodies(await client.readToEnd()), ["/3"]);
    client.close();
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeOpts() answers a pipelined run in flight at shutdown, the last with Connection: close", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const server = startTcp(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/wait") await gate;
    return new Response(path);
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      `GET /wait HTTP/1.1\r\n${H}\r\nGET /a HTTP/1.1\r\n${H}\r\n` +
        `GET /b HTTP/1.1\r\n${H}\r\n`,
    );
    while (server.stats().requestsInFlight === 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const done = server.shutdown({ graceMs: 5_000 });
    release();
    const text = await client.readToEnd();
    client.close();
    await done;
    // The request in flight is answered with Connection: close; what was
    // pipelined behind it is not started (the client retries it).
    assert.deepEqual(bodies(text), ["/wait"]);
    assert.match(text, /connection: close/);
  } finally {
    await server.shutdown({ graceMs: 0 });
  }
});

/** The writes the server makes for one request answered by `handler`. */
async function writesFor(
  request: string,
  handler: HttpServeHandler,
  tls = false,
): Promise<string[]> {
  const conn = new RecordingConn(request);
  const server = serveRecorded(conn, handler, {}, tls);
  try {
    await served(server, 1);
    return conn.writes;
  } finally {
    await server.shutdown({ graceMs: 0 });
  }
}

function streamOf(
  chunks: string[],
  gapMs: number | null,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(c) {
      if (gapMs !== null) await new Promise((r) => setTimeout(r, gapMs));
      c.enqueue(new TextEncoder().encode(chunks[i++]));
      // The last chunk and the end come together.
      if (i === chunks.length) c.close();
    },
  });
}

Deno.test("the server writes a streamed body that is ready at once in one write, with its length", async () => {
  const writes = await writesFor(
    `GET / HTTP/1.1\r\n${H}\r\n`,
    () =>
      new Response(
        new ReadableStream({
          start(c) {
            for (const s of ["a\n", "b\n", "c\n"]) {
              c.enqueue(new TextEncoder().encode(s));
            }
            c.close();
          },
        }),
      ),
  );
  assert.equal(writes.length, 1);
  assert.match(writes[0]!, /\r\ncontent-length: 6\r\n\r\na\nb\nc\n$/);
  assert.doesNotMatch(writes[0]!, /transfer-encoding/);
});

Deno.test("the server writes a stream's chunks as they come, the end with the last one", async () => {
  const writes = await writesFor(
    `GET / HTTP/1.1\r\n${H}\r\n`,
    () => new Response(streamOf(["one", "two", "three"], 5)),
  );
  assert.equal(writes.length, 3);
  assert.match(
    writes[0]!,
    /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n3\r\none\r\n$/,
  );
  assert.equal(writes[1], "3\r\ntwo\r\n");
  assert.equal(writes[2], "5\r\nthree\r\n0\r\n\r\n");
});

Deno.test("the server writes declared-length and HTTP/1.0 streams unframed, in as few writes", async () => {
  const declared = await writesFor(
    `GET / HTTP/1.1\r\n${H}\r\n`,
    () =>
      new Response(streamOf(["ab", "cd", "ef"], 5), {
        headers: { "content-length": "6" },
      }),
  );
  assert.equal(declared.length, 3);
  assert.match(declared[0]!, /\r\ncontent-length: 6\r\n\r\nab$/);
  assert.deepEqual(declared.slice(1), ["cd", "ef"]);
  const old = await writesFor(
    `GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`,
    () => new Response(streamOf(["ab", "cd"], 5)),
  );
  // HTTP/1.0 has no chunked framing: the body ends with the connection.
  assert.equal(old.length, 2);
  assert.match(old[0]!, /\r\nconnection: close\r\n\r\nab$/);
  assert.doesNotMatch(old[0]!, /content-length/);
  assert.equal(old[1], "cd");
  // Ready at once: its length is known, and the connection stays open.
  const ready = await writesFor(
    `GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`,
    () => new Response(streamOf(["ab", "cd"], null)),
  );
  assert.equal(ready.length, 1);
  assert.match(
    ready[0]!,
    /\r\nconnection: keep-alive\r\ncontent-length: 4\r\n\r\nabcd$/,
  );
});

Deno.test("the server writes ReadableStream.from() and TextEncoderStream bodies that are ready in one write", async () => {
  const makers: [string, () => ReadableStream<Uint8Array>][] = [
    [
      "from(array)",
      () =>
        ReadableStream.from(
          ["a", "b", "c"].map((s) => new TextEncoder().encode(s)),
        ),
    ],
    [
      "from(async generator)",
      () =>
        ReadableStream.from((async function* () {
          for (const s of ["a", "b", "c"]) yield new TextEncoder().encode(s);
        })()),
    ],
    [
      "TextEncoderStream",
      () =>
        ReadableStream.from(["a", "b", "c"]).pipeThrough(
          new TextEncoderStream(),
        ),
    ],
  ];
  for (const [name, make] of makers) {
    const writes = await writesFor(
      `GET / HTTP/1.1\r\n${H}\r\n`,
      () => new Response(make()),
    );
    assert.equal(writes.length, 1, name);
    // Whole at once: a Content-Length, no chunked framing.
    assert.match(writes[0]!, /\r\ncontent-length: 3\r\n\r\nabc$/, name);
  }
});

Deno.test("over TLS the server cuts a write whose last record would be tiny, and only then", async () => {
  const RECORD = 16_384;
  for (const size of [33_000, 49_100, 20_000, 10_000]) {
    const body = "r".repeat(size);
    const request = `GET / HTTP/1.1\r\n${H}\r\n`;
    const tls = await writesFor(request, () => new Response(body), true);
    const tcp = await writesFor(request, () => new Response(body));
    // The same bytes either way.
    assert.equal(tls.join(""), tcp.join(""), String(size));
    const total = tls.join("").length;
    const last = total % RECORD;
    if (total > RECORD && last !== 0 && last < 4_096) {
      // Full records first (if any), then the rest in two halves: no tiny
      // record.
      const sizes = tls.map((w) => w.length);
      const [a, b] = sizes.slice(-2) as [number, number];
      assert.equal(a + b, RECORD + last, `${size}: ${sizes}`);
      assert.ok(a >= 4_096 && b >= 4_096, `${size}: ${sizes}`);
      const before = sizes.slice(0, -2).reduce((x, y) => x + y, 0);
      assert.equal(before % RECORD, 0, `${size}: ${sizes}`);
    } else {
      assert.equal(tls.length, tcp.length, `${size}: not cut`);
    }
  }
});
