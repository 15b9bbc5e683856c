// httpServeTlsWorkers(): N workers on one port (SO_REUSEPORT), stats summed,
// shutdown and certificate reload across every worker, access records
// forwarded to the main thread's LogTape, the module's priority export.

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { httpServeTlsWorkers, type HttpWorkerServer } from "../../http/mod.ts";
import { CA, CERT, KEY } from "./_helpers.ts";
import { startServeTask } from "./_serve_task.ts";

const APP = new URL("./_worker_app.ts", import.meta.url);
const PRIORITY_APP = new URL("./_worker_priority.ts", import.meta.url);
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
  await assert.rejects(
    httpServeTlsWorkers(
      { workers: { module: APP }, maxInFlight: 4, priority: () => "critical" },
      tls,
    ),
    /^TypeError: Invalid priority: functions cannot be sent to workers, export priority from the worker module$/,
  );
  await assert.rejects(
    httpServeTlsWorkers(
      { workers: { module: APP }, accessLog: { format: () => "line" } },
      tls,
    ),
    /^TypeError: Invalid accessLog\.format: a function cannot be sent to workers/,
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

/** Collects the main thread's LogTape records under `category`. */
async function captureLogs(category: string[]): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (record) => records.push(record) },
    loggers: [
      { category, sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  return records;
}

Deno.test({
  name:
    "httpServeTlsWorkers() accessLog sends every worker's lines to the main thread's sinks once, the last ones before finished",
  ignore: !LINUX_NET,
  fn: async () => {
    const records = await captureLogs(["quartz", "http", "access"]);
    try {
      const server = await httpServeTlsWorkers({
        hostname: "127.0.0.1",
        port: 0,
        accessLog: true,
        workers: { count: 2, module: APP },
      }, { cert: CERT, key: KEY });
      const port = server.addr.port;
      const served = new Set<string>();
      for (let i = 0; i < 12; i++) served.add(await fresh(port, `/log?i=${i}`));
      // A request still running at shutdown: its line is written as the
      // worker finishes, so only the final flush can deliver it.
      const slow = fresh(port, "/slow?ms=200&i=12");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const finished = server.shutdown({ graceMs: 5_000 });
      served.add(await slow);
      await finished;
      assert.equal(records.length, 13);
      assert.equal(server.stats().requestsServed, 13);
      const targets = records.map((r) => r.properties.target).sort();
      assert.deepEqual(
        targets,
        [
          ...Array.from({ length: 12 }, (_, i) => `/log?i=${i}`),
          "/slow?ms=200&i=12",
        ].sort(),
      );
      for (const record of records) {
        assert.deepEqual(record.category, ["quartz", "http", "access"]);
        assert.equal(record.level, "info");
        assert.equal(record.properties.method, "GET");
        assert.equal(record.properties.protocol, "HTTP/1.1");
        assert.equal(record.properties.remoteAddr, "127.0.0.1");
        assert.equal(record.properties.status, 200);
        assert.equal(
          record.properties.bytesSent,
          "quartz-http-worker-0".length,
        );
        assert.equal(typeof record.timestamp, "number");
        assert.equal(record.rawMessage, record.message[0]);
        assert.match(
          String(record.message[0]),
          new RegExp(
            `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET ${
              String(record.properties.target).replace(/[?.]/g, "\\$&")
            } HTTP/1\\.1" 200 20 "-" "[^"]*"$`,
          ),
        );
      }
      assert.ok(
        [...served].every((name) => /^quartz-http-worker-\d$/.test(name)),
      );
    } finally {
      await reset();
    }
  },
});

Deno.test({
  name:
    "httpServeTlsWorkers() accessLog keeps its category, level and format across the thread",
  ignore: !LINUX_NET,
  fn: async () => {
    const records = await captureLogs(["app"]);
    try {
      const server = await httpServeTlsWorkers({
        hostname: "127.0.0.1",
        port: 0,
        accessLog: {
          format: "json",
          category: ["app", "access"],
          level: "warning",
        },
        workers: { count: 1, module: APP },
      }, { cert: CERT, key: KEY });
      await fresh(server.addr.port, "/x");
      await server.shutdown({ graceMs: 1_000 });
      assert.equal(records.length, 1);
      const record = records[0]!;
      assert.deepEqual(record.category, ["app", "access"]);
      assert.equal(record.level, "warning");
      const line = JSON.parse(String(record.message[0]));
      assert.equal(line.target, "/x");
      assert.equal(line.method, "GET");
      assert.equal(line.status, 200);
    } finally {
      await reset();
    }
  },
});

/** One request on a new connection: its status and body. */
async function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  const client = Deno.createHttpClient({ caCerts: [CA] });
  try {
    const res = await fetch(`https://localhost:${port}${path}`, { client });
    return { status: res.status, body: await res.text() };
  } finally {
    client.close();
  }
}

Deno.test({
  name:
    "httpServeTlsWorkers() uses the module's priority: critical requests get through while the others are shed",
  ignore: !LINUX_NET,
  fn: async () => {
    const server = await httpServeTlsWorkers({
      hostname: "127.0.0.1",
      port: 0,
      maxInFlight: 1,
      maxQueueMs: 0,
      workers: { count: 2, module: PRIORITY_APP },
    }, { cert: CERT, key: KEY });
    const port = server.addr.port;
    const channel = new BroadcastChannel("quartz-workers-test");
    const blocked: Promise<{ status: number; body: string }>[] = [];
    try {
      const entered = new Set<string>();
      let onEnter = () => {};
      channel.onmessage = (event: MessageEvent<string>) => {
        if (event.data.startsWith("entered ")) {
          entered.add(event.data.slice("entered ".length));
          onEnter();
        }
      };
      // Fill the one slot of each worker with a request that blocks; one
      // that reaches a full worker is shed at once.
      let shedNormal = 0;
      for (let i = 0; i < 40 && entered.size < 2; i++) {
        const res = get(port, "/block");
        const didEnter = new Promise<"entered">((resolve) =>
          onEnter = () => resolve("entered")
        );
        const first = await Promise.race([res, didEnter]);
        if (first === "entered") blocked.push(res);
        else {
          assert.equal(first.status, 503);
          shedNormal++;
        }
      }
      assert.equal(entered.size, 2);
      for (let i = 0; i < 6; i++) {
        assert.equal((await get(port, "/low")).status, 503);
        assert.equal((await get(port, "/")).status, 503);
        const critical = await get(port, "/critical");
        assert.equal(critical.status, 200);
        assert.match(critical.body, /^quartz-http-worker-\d$/);
      }
      channel.postMessage("release");
      for (const res of blocked.splice(0)) {
        assert.equal((await res).status, 200);
      }
      assert.equal((await get(port, "/low")).status, 200);
      const stats = await server.collectStats();
      assert.equal(stats.requests.shed, 12 + shedNormal);
    } finally {
      channel.postMessage("release");
      await Promise.allSettled(blocked);
      channel.close();
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});

Deno.test("httpServeTlsWorkers() refuses a module whose priority is not a function", async () => {
  await assert.rejects(
    httpServeTlsWorkers({
      hostname: "127.0.0.1",
      port: 0,
      workers: {
        count: 1,
        module: new URL("./_worker_bad_priority.ts", import.meta.url),
      },
    }, { cert: CERT, key: KEY }),
    /^TypeError: Invalid priority 42: expected a function/,
  );
});

Deno.test({
  name:
    "httpServeTlsWorkers() leaves the access records to a worker module that configures LogTape itself",
  ignore: !LINUX_NET,
  fn: async () => {
    const records = await captureLogs(["quartz", "http", "access"]);
    try {
      const server = await httpServeTlsWorkers({
        hostname: "127.0.0.1",
        port: 0,
        accessLog: true,
        workers: {
          count: 1,
          module: new URL("./_worker_own_log.ts", import.meta.url),
        },
      }, { cert: CERT, key: KEY });
      await get(server.addr.port, "/a");
      await get(server.addr.port, "/b");
      // The module's sink got the two finished requests, not this one yet.
      assert.deepEqual(await get(server.addr.port, "/count"), {
        status: 200,
        body: "2",
      });
      await server.shutdown({ graceMs: 1_000 });
      assert.equal(records.length, 0);
    } finally {
      await reset();
    }
  },
});

Deno.test({
  name:
    "deno task serve --workers 2 --access-log prints every worker's requests in the main process",
  ignore: !LINUX_NET,
  fn: async () => {
    const task = await startServeTask([
      "--workers",
      "2",
      "--access-log",
      "common",
    ]);
    let out: string;
    try {
      const paths = ["/", "/healthz", "/nope", "/stream?n=2", "/"];
      for (const path of paths) await get(task.port, path);
    } finally {
      task.child.kill("SIGTERM");
      out = await task.output();
      await task.child.status;
      await task.stderr;
    }
    const logged = out.split("\n").flatMap((line) => {
      const m = /^127\.0\.0\.1 - - \[[^\]]+\] "GET (\S+) HTTP\/1\.1" (\d+) /
        .exec(line);
      return m === null ? [] : [`${m[1]} ${m[2]}`];
    });
    assert.deepEqual(logged.sort(), [
      "/ 200",
      "/ 200",
      "/healthz 200",
      "/nope 404",
      "/stream?n=2 200",
    ]);
    assert.match(out, /2 workers share the port/);
    assert.match(out, /Stopped\n$/);
  },
});
