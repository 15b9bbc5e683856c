// httpServeTlsOpts() with real clients: Deno fetch (trusting the test CA),
// curl and Node.js (node:https and its fetch).

import assert from "node:assert/strict";
import { curl, fetchClient, startTls, toolVersion } from "./_helpers.ts";

function echo(): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/stream") {
      const n = Number(url.searchParams.get("n") ?? "3");
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (i === n) return c.close();
            // A pause every 20 lines: the body streams (chunked).
            if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
            c.enqueue(new TextEncoder().encode(`line ${i++}\n`));
          },
        }),
      );
    }
    return new Response(req.body === null ? "" : await req.bytes(), {
      headers: {
        "content-type": req.headers.get("content-type") ?? "text/plain",
        "x-method": req.method,
      },
    });
  };
}

Deno.test("httpServeTlsOpts() serves Deno fetch over one reused connection", async () => {
  const server = startTls(echo());
  const client = fetchClient();
  try {
    const base = `https://localhost:${server.addr.port}`;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/echo`, {
        client,
        method: "POST",
        body: `body ${i}`,
        headers: { "content-type": "text/x-test" },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/x-test");
      assert.equal(await res.text(), `body ${i}`);
    }
    const streamed = await fetch(`${base}/stream?n=50`, { client });
    const text = await streamed.text();
    assert.equal(text.split("\n").length, 51);
    assert.equal(server.stats().acceptedConnections, 1, "one handshake");
    assert.equal(server.stats().requestsServed, 6);
  } finally {
    client.close();
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeTlsOpts() streams a fetch request body of unknown length", async () => {
  const server = startTls(echo());
  const client = fetchClient();
  try {
    const parts = ["alpha ", "beta ", "gamma"];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = parts.shift();
        if (next === undefined) c.close();
        else c.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await fetch(`https://localhost:${server.addr.port}/echo`, {
      client,
      method: "PUT",
      body,
    });
    assert.equal(await res.text(), "alpha beta gamma");
    assert.equal(res.headers.get("x-method"), "PUT");
  } finally {
    client.close();
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeTlsOpts() serves curl: keep-alive, chunked upload, 100-continue, HEAD", async () => {
  const server = startTls(echo());
  try {
    const url = `https://localhost:${server.addr.port}`;
    const many = await curl([
      `${url}/a`,
      `${url}/b`,
      "-w",
      "%{num_connects}\n",
    ]);
    assert.equal(many.code, 0, many.stderr);
    assert.equal(
      many.stdout,
      "1\n0\n",
      "the second request reuses the connection",
    );

    const chunked = await curl(
      ["-T", "-", "-H", "content-type: application/x-up", `${url}/echo`, "-v"],
      "uploaded through stdin",
    );
    assert.equal(chunked.stdout, "uploaded through stdin");
    assert.match(chunked.stderr, /transfer-encoding: chunked/i);

    const big = "y".repeat(2 * 1024);
    const expect = await curl([
      "-H",
      "Expect: 100-continue",
      "--data-binary",
      big,
      `${url}/echo`,
      "-v",
    ]);
    assert.equal(expect.stdout, big);
    assert.match(expect.stderr, /HTTP\/1\.1 100 Continue/);

    const head = await curl(["-I", `${url}/stream?n=2`]);
    assert.match(head.stdout, /^HTTP\/1\.1 200 OK/);
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeTlsOpts() streams a request body straight back as the response", async () => {
  const server = startTls((req) => new Response(req.body));
  try {
    const res = await curl([
      "--data-binary",
      "piped back",
      `https://localhost:${server.addr.port}/`,
    ]);
    assert.equal(res.stdout, "piped back");
    const chunked = await curl([
      "-T",
      "-",
      `https://localhost:${server.addr.port}/`,
    ], "chunked back");
    assert.equal(chunked.stdout, "chunked back");
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("httpServeTlsOpts() negotiates http/1.1 by ALPN and reports it to the handler", async () => {
  const server = startTls((_req, info) =>
    new Response(String(info.alpnProtocol))
  );
  const client = fetchClient();
  try {
    const res = await fetch(`https://localhost:${server.addr.port}/`, {
      client,
    });
    assert.equal(await res.text(), "http/1.1");
  } finally {
    client.close();
    await server.shutdown({ graceMs: 1_000 });
  }
});

const node = await toolVersion("node");
if (node === null) {
  console.log(
    "serve_clients_test: the Node.js client test is skipped, node is not installed or --allow-run lacks it",
  );
}

interface NodeSeen {
  status: number;
  headers: Record<string, string>;
  body: string;
  chunks: number;
  reused: boolean;
  continued: boolean;
}

Deno.test({
  name:
    "httpServeTlsOpts() serves Node.js clients: node:https keep-alive, chunked upload, 100-continue, HEAD, fetch",
  ignore: node === null,
  fn: async () => {
    const methods: string[] = [];
    const inner = echo();
    const server = startTls((req, info) => {
      methods.push(`${req.method} ${info.requestIndex}`);
      return inner(req);
    });
    try {
      const out = await new Deno.Command("node", {
        args: [
          "tests/http/_node_client.mjs",
          String(server.addr.port),
          "testdata/ca.pem",
        ],
        env: { NODE_EXTRA_CA_CERTS: "testdata/ca.pem" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const seen = JSON.parse(new TextDecoder().decode(out.stdout));

      // One connection for the agent's requests, reused after the first.
      const sequential = seen.sequential as NodeSeen[];
      assert.deepEqual(sequential.map((r) => r.reused), [false, true, true]);
      assert.ok(sequential.every((r) => r.status === 200));
      assert.ok(sequential.every((r) => r.headers["content-length"] === "0"));

      const upload = seen.chunkedUpload as NodeSeen;
      assert.equal(upload.body, "part one, part two");
      assert.equal(upload.headers["content-type"], "text/x-node");
      assert.equal(upload.headers["x-method"], "POST");

      const expect = seen.expectContinue as NodeSeen;
      assert.equal(expect.continued, true, "Node saw 100 Continue");
      assert.equal(expect.body, "sent after 100");

      const head = seen.head as NodeSeen;
      assert.equal(head.status, 200);
      assert.equal(head.body, "");

      const stream = seen.stream as NodeSeen;
      assert.equal(stream.headers["transfer-encoding"], "chunked");
      assert.equal(stream.body.split("\n").length, 201);

      const close = seen.close as NodeSeen;
      assert.equal(close.status, 200);
      assert.equal(close.headers["connection"], "close");

      assert.deepEqual(seen.fetchStream, {
        status: 200,
        body: "streamed by fetch",
      });
      const parallel = seen.fetchParallel as { status: number; body: string }[];
      assert.deepEqual(
        parallel.map((r) => r.body),
        parallel.map((_, i) => `n=${i}`),
      );
      // Every request reached the handler once.
      assert.equal(methods.length, 3 + 1 + 1 + 1 + 1 + 1 + 1 + 20);
      assert.equal(server.stats().requestsServed, methods.length);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});

const ab = await toolVersion("ab", "-V");
if (ab === null) {
  console.log(
    "serve_clients_test: the ApacheBench test is skipped, ab is not installed (apt-get install -y apache2-utils) or --allow-run lacks it",
  );
}

Deno.test({
  name:
    "httpServeTlsOpts() keeps ApacheBench's HTTP/1.0 keep-alive connections open, with and without a body",
  ignore: ab === null,
  fn: async () => {
    const server = startTls(echo());
    try {
      const url = `https://localhost:${server.addr.port}/echo`;
      const run = async (extra: string[]) => {
        const out = await new Deno.Command("ab", {
          args: ["-k", "-n", "300", "-c", "3", ...extra, url],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const field = (name: string) =>
          Number(text.match(new RegExp(`${name}:\\s+(\\d+)`))?.[1]);
        return {
          complete: field("Complete requests"),
          failed: field("Failed requests"),
          keptAlive: field("Keep-Alive requests"),
        };
      };
      const before = server.stats().acceptedConnections;
      // HTTP/1.0 with Connection: keep-alive: each response says so and
      // carries a Content-Length, so ab reuses the connection.
      assert.deepEqual(await run([]), {
        complete: 300,
        failed: 0,
        keptAlive: 300,
      });
      assert.deepEqual(
        await run(["-p", "testdata/ca.pem", "-T", "text/plain"]),
        { complete: 300, failed: 0, keptAlive: 300 },
      );
      // Three connections per run (-c 3), whatever the request count.
      assert.equal(server.stats().acceptedConnections - before, 6);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});
