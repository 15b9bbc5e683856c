// httpServeTlsWorkers(): N workers on one port (SO_REUSEPORT), stats summed,
// shutdown and certificate reload across every worker.

import assert from "node:assert/strict";
import { httpServeTlsWorkers, type HttpWorkerServer } from "../../http/mod.ts";
import { CA, CERT, KEY } from "./_helpers.ts";

const APP = new URL("./_worker_app.ts", import.meta.url);
const CERT2 = await Deno.readTextFile("testdata/localhost2.pem");
const KEY2 = await Deno.readTextFile("testdata/localhost2.key");
const LINUX_NET = Deno.build.os === "linux" &&
  typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram ===
    "function";

function start(count: number): Promise<HttpWorkerServer> {
  return httpServeTlsWorkers(
    { hostname: "127.0.0.1", port: 0, workers: { count, module: APP } },
    { cert: CERT, key: KEY },
  );
}

/** One request on a new connection; returns the serving worker's name. */
async function fresh(port: number, path = "/"): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [CA] });
  try {
    const res = await fetch(`https://localhost:${port}${path}`, { client });
    assert.equal(res.status, 200);
    return await res.text();
  } finally {
    client.close();
  }
}

Deno.test({
  name: "httpServeTlsWorkers() spreads connections over every worker",
  ignore: !LINUX_NET,
  fn: async () => {
    const server = await start(2);
    try {
      assert.equal(server.workers, 2);
      assert.equal(server.reusePort, true);
      const seen = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const name = await fresh(server.addr.port);
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      assert.deepEqual(
        [...seen.keys()].sort(),
        ["quartz-http-worker-0", "quartz-http-worker-1"],
      );
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});

Deno.test({
  name: "httpServeTlsWorkers() collectStats() sums the workers' counters",
  ignore: !LINUX_NET,
  fn: async () => {
    const server = await start(2);
    try {
      assert.equal(server.stats().requestsServed, 0);
      for (let i = 0; i < 12; i++) await fresh(server.addr.port);
      const stats = await server.collectStats();
      assert.equal(stats.requestsServed, 12);
      assert.equal(stats.acceptedConnections, 12);
      assert.equal(stats.requests.byStatusClass["2xx"], 12);
      assert.equal(stats.latency.count, 12);
      // Bucket bounds are shared, not summed.
      assert.deepEqual(
        stats.latency.boundsMs,
        (await server.collectStats()).latency.boundsMs,
      );
      assert.equal(server.stats().requestsServed, 12);
      assert.match(server.metricsText(), /quartz_http_/);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
    assert.equal(server.stats().requestsServed, 12);
    assert.equal(server.stats().openConnections, 0);
  },
});

Deno.test({
  name:
    "httpServeTlsWorkers() shutdown() lets in-flight requests finish, then every worker stops",
  ignore: !LINUX_NET,
  fn: async () => {
    const server = await start(2);
    const port = server.addr.port;
    const slow = fresh(port, "/slow?ms=300");
    // Let the request reach its worker before the shutdown.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const finished = server.shutdown({ graceMs: 5_000 });
    assert.match(await slow, /^quartz-http-worker-\d$/);
    await finished;
    assert.equal(server.stats().requestsServed, 1);
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
  },
});

Deno.test({
  name:
    "httpServeTlsWorkers() reloadCertificates() reloads every worker and refuses a bad pair",
  ignore: !LINUX_NET,
  fn: async () => {
    const server = await start(2);
    try {
      await assert.rejects(
        server.reloadCertificates({ cert: CERT2, key: KEY }),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith("Invalid certificate or key: "),
      );
      await server.reloadCertificates({ cert: CERT2, key: KEY2 });
      // Every worker still answers on the port after the swap.
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add(await fresh(server.addr.port));
      assert.equal(seen.size, 2);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});

Deno.test("httpServeTlsWorkers() rejects a module without a handler and stops its workers", async () => {
  await assert.rejects(
    httpServeTlsWorkers(
      {
        hostname: "127.0.0.1",
        port: 0,
        workers: {
          count: 2,
          module: new URL("./_worker_no_handler.ts", import.meta.url),
        },
      },
      { cert: CERT, key: KEY },
    ),
    (error: unknown) =>
      error instanceof TypeError &&
      /^Invalid worker module .*_worker_no_handler\.ts: expected/.test(
        error.message,
      ),
  );
});

Deno.test("httpServeTlsWorkers() refuses what cannot reach a worker", async () => {
  const tls = { cert: CERT, key: KEY };
  await assert.rejects(
    httpServeTlsWorkers({ workers: { module: "./app.ts" } }, tls),
    /^TypeError: Invalid workers.module \.\/app\.ts: expected an absolute URL/,
  );
  await assert.rejects(
    httpServeTlsWorkers({ workers: { module: APP, count: 0 } }, tls),
    /^RangeError: Invalid workers.count 0/,
  );
  await assert.rejects(
    httpServeTlsWorkers({ workers: { module: APP }, onError: () => {} }, tls),
    /^TypeError: Invalid onError: functions cannot be sent to workers/,
  );
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(
    httpServeTlsWorkers(
      { workers: { module: APP }, signal: controller.signal },
      tls,
    ),
    (error: unknown) => error === controller.signal.reason,
  );
});

Deno.test("httpServeTlsWorkers() falls back to one worker without --unstable-net", async () => {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1,localhost",
      "--allow-read=testdata,tests,http,tls,concurrency",
      "tests/http/_workers_fallback.ts",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    workers: 1,
    reusePort: false,
    body: "quartz-http-worker-0",
    served: 1,
  });
});
