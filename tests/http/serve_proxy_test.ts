// httpServeOpts() behind a real reverse proxy, the deployment it is for:
// HAProxy (testdata/haproxy.cfg) keeps its backend connections open and
// shares them, streams chunked bodies both ways and adds X-Forwarded-For.
// Skipped, with the reason printed, where haproxy is not installed
// (`apt-get install -y haproxy`).

import assert from "node:assert/strict";
import { curl, startTcp, toolVersion } from "./_helpers.ts";
import type { HttpServer } from "../../http/mod.ts";

const haproxy = await toolVersion("haproxy", "-v");
if (haproxy === null) {
  console.log(
    "serve_proxy_test: skipped, haproxy is not installed (apt-get install -y haproxy) or --allow-run lacks it",
  );
}

/** A loopback port nothing listens on right now. */
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

/** HAProxy in front of `server`; its port once it accepts. */
async function startProxy(
  server: HttpServer,
): Promise<{ port: number; stop: () => Promise<string> }> {
  const port = freePort();
  const child = new Deno.Command("haproxy", {
    args: ["-f", "testdata/haproxy.cfg", "-db"],
    env: { FRONT_PORT: String(port), BACK_PORT: String(server.addr.port) },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = async (): Promise<string> => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited: its stderr says why.
    }
    const out = await child.output();
    return new TextDecoder().decode(out.stderr);
  };
  for (let i = 0; i < 100; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return { port, stop };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`haproxy did not start: ${await stop()}`);
}

function app(): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/stream") {
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (i === 5) return c.close();
            await new Promise((resolve) => setTimeout(resolve, 5));
            c.enqueue(new TextEncoder().encode(`part ${i++}\n`));
          },
        }),
      );
    }
    if (url.pathname === "/sleep") {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return new Response("slept " + "z".repeat(100_000));
    }
    const body = req.body === null ? "" : await req.text();
    return new Response(body, {
      headers: {
        "x-seen-forwarded-for": req.headers.get("x-forwarded-for") ?? "",
        "x-seen-method": req.method,
      },
    });
  };
}

Deno.test({
  name:
    "httpServeOpts() behind HAProxy: shared keep-alive backend connections, chunked both ways, X-Forwarded-For",
  ignore: haproxy === null,
  fn: async () => {
    const server = startTcp(app());
    const proxy = await startProxy(server);
    try {
      const base = `http://127.0.0.1:${proxy.port}`;
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${base}/echo`, {
          method: "POST",
          body: `request ${i}`,
        });
        assert.equal(res.status, 200);
        assert.equal(await res.text(), `request ${i}`);
        assert.equal(res.headers.get("x-seen-forwarded-for"), "127.0.0.1");
      }
      // HAProxy reused its backend connection instead of one per request.
      assert.ok(
        server.stats().acceptedConnections <= 2,
        `${server.stats().acceptedConnections} backend connections`,
      );

      // A chunked upload, streamed through to the handler and back.
      const upload = await curl(
        ["-T", "-", `${base}/echo`, "-v"],
        "uploaded through the proxy",
      );
      assert.equal(upload.stdout, "uploaded through the proxy");
      assert.match(upload.stderr, /transfer-encoding: chunked/i);

      const streamed = await fetch(`${base}/stream`);
      assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
      assert.equal(
        await streamed.text(),
        "part 0\npart 1\npart 2\npart 3\npart 4\n",
      );
      assert.equal(server.stats().parseErrors, 0);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
      await proxy.stop();
    }
  },
});

Deno.test({
  name:
    "httpServeOpts() behind HAProxy: a graceful shutdown delivers the request in flight whole",
  ignore: haproxy === null,
  fn: async () => {
    const server = startTcp(app());
    const proxy = await startProxy(server);
    try {
      const pending = fetch(`http://127.0.0.1:${proxy.port}/sleep`);
      // Shut down while the handler sleeps.
      while (server.stats().requestsInFlight === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const finished = server.shutdown({ graceMs: 5_000 });
      const res = await pending;
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(text, "slept " + "z".repeat(100_000));
      await finished;
    } finally {
      await server.shutdown({ graceMs: 0 });
      await proxy.stop();
    }
  },
});

Deno.test({
  name:
    "httpServeOpts() behind HAProxy: a backend connection the server closed when idle is replaced, no request lost",
  ignore: haproxy === null,
  fn: async () => {
    const server = startTcp(app(), { keepAliveTimeoutMs: 100 });
    const proxy = await startProxy(server);
    try {
      const base = `http://127.0.0.1:${proxy.port}`;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/echo`, {
          method: "POST",
          body: `${i}`,
        });
        assert.equal(await res.text(), `${i}`);
        // Longer than the server's keep-alive: it closes the idle connection.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const stats = server.stats();
      assert.equal(stats.timeouts.idle, 3);
      assert.equal(stats.acceptedConnections, 3);
      assert.equal(stats.requestsServed, 3);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
      await proxy.stop();
    }
  },
});
