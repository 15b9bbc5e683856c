// Overload and access-log benchmark of httpServeTlsOpts, servers in `deno
// run` subprocesses, in one run:
//
// 1. Overload. The handler calls a "backend" that serves BACKEND requests at
//    once, SERVICE_MS each, so capacity is well defined. A Deno open-loop
//    client (fetch, HTTP/1.1, per-response latency by status) offers 4x the
//    measured capacity to: ours with shedding (maxInFlight = BACKEND,
//    maxQueueMs), ours in adaptive mode, ours without, and Deno.serve. Printed: the unloaded p99,
//    the admitted (200) p99 under overload and its ratio to the unloaded one
//    (target <= 3x), the shed (503) p99 (target < 5 ms), and what the
//    servers without shedding do.
// 2. Access log on (LogTape non-blocking stream sink to a temp file) against
//    off: keep-alive throughput with wrk and the ratio (target >= 0.9).
//
//   deno run --allow-net=127.0.0.1,localhost --allow-read --allow-write \
//     --allow-run --allow-env bench/overload_bench.ts
//
// Env: BENCH_SECONDS (default 3 per case), BENCH_OVERLOAD (default 4),
// BENCH_SERVICE_MS (default 5), BENCH_BACKEND (default 2),
// BENCH_QUEUE_MS (maxQueueMs, default 2 * SERVICE_MS),
// BENCH_CONNECTIONS (wrk, default 50), BENCH_ROUNDS (log case, default 1).

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "3");
const OVERLOAD = Number(Deno.env.get("BENCH_OVERLOAD") ?? "4");
const SERVICE_MS = Number(Deno.env.get("BENCH_SERVICE_MS") ?? "5");
const BACKEND = Number(Deno.env.get("BENCH_BACKEND") ?? "2");
const QUEUE_MS = Number(Deno.env.get("BENCH_QUEUE_MS") ?? 2 * SERVICE_MS);
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? "50");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "1");
/** A request not answered within this is counted as timed out. */
const TIMEOUT_MS = 5_000;
/** Requests outstanding at once; beyond, the client drops (counted). */
const MAX_OUTSTANDING = 4_000;

type Kind = "shed" | "adaptive" | "noshed" | "deno" | "log-on" | "log-off";

/** A backend with BACKEND slots of SERVICE_MS each; callers wait in line. */
function backend(): () => Promise<void> {
  let busy = 0;
  const waiting: (() => void)[] = [];
  const done = () => {
    const next = waiting.shift();
    if (next !== undefined) setTimeout(next, SERVICE_MS);
    else busy--;
  };
  return () =>
    new Promise<void>((resolve) => {
      const run = () => {
        resolve();
        done();
      };
      if (busy < BACKEND) {
        busy++;
        setTimeout(run, SERVICE_MS);
      } else waiting.push(run);
    });
}

async function runServer(kind: Kind, logPath: string): Promise<void> {
  const cert = await Deno.readTextFile("testdata/localhost.pem");
  const key = await Deno.readTextFile("testdata/localhost.key");
  const onListen = (addr: Deno.NetAddr) => console.log(`PORT ${addr.port}`);
  const call = backend();
  const slow = async () => {
    await call();
    return new Response("done");
  };
  if (kind === "deno") {
    Deno.serve({ hostname: "127.0.0.1", port: 0, cert, key, onListen }, slow);
    return;
  }
  const http = await import("../http/mod.ts");
  const config = { hostname: "127.0.0.1", port: 0, onListen };
  if (kind === "shed") {
    http.httpServeTlsOpts(
      { ...config, maxInFlight: BACKEND, maxQueueMs: QUEUE_MS },
      { cert, key },
      slow,
    );
  } else if (kind === "adaptive") {
    // No queue limit to tune: the CoDel controller decides (5 ms target).
    http.httpServeTlsOpts(
      { ...config, maxInFlight: BACKEND, adaptiveShedding: true },
      { cert, key },
      slow,
    );
  } else if (kind === "noshed") {
    http.httpServeTlsOpts(config, { cert, key }, slow);
  } else {
    if (kind === "log-on") {
      const { configure, getStreamSink } = await import("@logtape/logtape");
      const file = await Deno.open(logPath, { write: true, append: true });
      await configure({
        sinks: {
          file: getStreamSink(file.writable, {
            formatter: http.accessLineFormatter,
            nonBlocking: true,
          }),
        },
        loggers: [
          { category: ["quartz", "http", "access"], sinks: ["file"] },
          { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
        ],
      });
    }
    http.httpServeTlsOpts(
      { ...config, accessLog: kind === "log-on" },
      { cert, key },
      () => new Response("Hello World!"),
    );
  }
}

/** Starts a server subprocess; returns its port and a stop function. */
async function spawn(
  kind: Kind,
  logPath = "",
): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read=testdata",
      `--allow-write=${logPath || "testdata"}`,
      "--allow-env",
      new URL(import.meta.url).pathname,
      "--serve",
      kind,
      logPath,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server ${kind} exited before listening`);
    seen += value;
    port = Number(/PORT (\d+)/.exec(seen)?.[1] ?? 0);
  }
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel();
    },
  };
}

interface Load {
  sent: number;
  ok: number[];
  shed: number[];
  other: number;
  timeouts: number;
  dropped: number;
  /** From the first request to the last answer, seconds. */
  elapsed: number;
}

const CA = await Deno.readTextFile("testdata/ca.pem");

/** Offers `rate` requests per second for `seconds`, open loop. */
async function openLoop(
  port: number,
  rate: number,
  seconds: number,
): Promise<Load> {
  const client = Deno.createHttpClient({ caCerts: [CA], http2: false });
  const url = `https://localhost:${port}/`;
  const out: Load = {
    sent: 0,
    ok: [],
    shed: [],
    other: 0,
    timeouts: 0,
    dropped: 0,
    elapsed: 0,
  };
  const pending = new Set<Promise<void>>();
  const fire = () => {
    const t0 = performance.now();
    const p: Promise<void> = fetch(url, {
      client,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).then(async (res) => {
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.status === 200) out.ok.push(ms);
      else if (res.status === 503) out.shed.push(ms);
      else out.other++;
    }, () => {
      out.timeouts++;
    }).finally(() => pending.delete(p));
    pending.add(p);
  };
  const start = performance.now();
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= seconds * 1000) break;
    const due = Math.floor((elapsed / 1000) * rate);
    while (out.sent < due) {
      out.sent++;
      if (pending.size >= MAX_OUTSTANDING) out.dropped++;
      else fire();
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  out.elapsed = (performance.now() - start) / 1000;
  client.close();
  return out;
}

/** Closed loop with `n` clients: the server's capacity in req/s. */
async function capacity(port: number, n: number, seconds: number) {
  const client = Deno.createHttpClient({ caCerts: [CA], http2: false });
  const url = `https://localhost:${port}/`;
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (performance.now() < end) {
        const res = await fetch(url, { client });
        await res.arrayBuffer();
        if (res.status === 200) done++;
      }
    }),
  );
  client.close();
  return done / seconds;
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function describe(name: string, l: Load): string {
  return `${name.padEnd(36)} sent ${String(l.sent).padStart(6)}  200: ${
    String(l.ok.length).padStart(5)
  } (${(l.ok.length / l.elapsed).toFixed(0)}/s) p50 ${
    pct(l.ok, 0.5).toFixed(1)
  } p99 ${pct(l.ok, 0.99).toFixed(1)} ms  503: ${
    String(l.shed.length).padStart(5)
  } p50 ${pct(l.shed, 0.5).toFixed(1)} p99 ${
    pct(l.shed, 0.99).toFixed(1)
  } ms  other ${l.other} timeouts ${l.timeouts} dropped ${l.dropped}`;
}

async function wrkRps(port: number): Promise<number> {
  const url = `https://127.0.0.1:${port}/`;
  await new Deno.Command("wrk", {
    args: ["-t1", `-c${CONNECTIONS}`, "-d1s", url],
    stdout: "null",
  }).output();
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, url],
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
}

async function overload(): Promise<void> {
  const calib = await spawn("noshed");
  // Warm up, then measure what the backend lets through.
  await capacity(calib.port, 16, 0.5);
  const cap = await capacity(calib.port, 16, 1.5);
  await calib.stop();
  const rate = cap * OVERLOAD;
  console.log(
    `Overload: backend ${BACKEND} x ${SERVICE_MS} ms, measured capacity ` +
      `${cap.toFixed(0)} req/s, offered ${OVERLOAD}x = ${
        rate.toFixed(0)
      } req/s for ${SECONDS} s; shedding: maxInFlight ${BACKEND}, ` +
      `maxQueueMs ${QUEUE_MS}`,
  );
  const shed = await spawn("shed");
  await openLoop(shed.port, cap * 0.25, 0.5); // warm-up
  const idle = await openLoop(shed.port, cap * 0.25, SECONDS);
  const loaded = await openLoop(shed.port, rate, SECONDS);
  await shed.stop();
  console.log(describe("ours, shedding, 0.25x (unloaded)", idle));
  console.log(describe(`ours, shedding, ${OVERLOAD}x`, loaded));
  const names = {
    adaptive: "ours, adaptive (CoDel)",
    noshed: "ours, no shedding",
    deno: "Deno.serve",
  };
  for (const kind of ["adaptive", "noshed", "deno"] as const) {
    const s = await spawn(kind);
    await openLoop(s.port, cap * 0.25, 0.5);
    const l = await openLoop(s.port, rate, SECONDS);
    await s.stop();
    console.log(describe(`${names[kind]}, ${OVERLOAD}x`, l));
  }
  const p99Idle = pct(idle.ok, 0.99);
  const p99Ok = pct(loaded.ok, 0.99);
  console.log(
    `admitted p99 under ${OVERLOAD}x / unloaded p99: ${p99Ok.toFixed(1)} / ${
      p99Idle.toFixed(1)
    } ms = ${(p99Ok / p99Idle).toFixed(2)}x (target <= 3x); shed p99 ${
      pct(loaded.shed, 0.99).toFixed(1)
    } ms (target < 5 ms); goodput ${
      (loaded.ok.length / loaded.elapsed / cap).toFixed(2)
    }x capacity`,
  );
}

async function accessLog(): Promise<void> {
  const logPath = await Deno.makeTempFile({ prefix: "quartz_access_" });
  try {
    let off = 0;
    let on = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const a = await spawn("log-off");
      off = Math.max(off, await wrkRps(a.port));
      await a.stop();
      const b = await spawn("log-on", logPath);
      on = Math.max(on, await wrkRps(b.port));
      await b.stop();
    }
    const lines = (await Deno.readTextFile(logPath)).split("\n").length - 1;
    console.log(
      `Access log (wrk -c${CONNECTIONS} -d${SECONDS}s keep-alive, best of ` +
        `${ROUNDS}): off ${off.toFixed(0)} req/s, on (file) ${
          on.toFixed(0)
        } req/s, ratio on/off ${(on / off).toFixed(2)} (target >= 0.9); ` +
        `${lines} lines written`,
    );
  } finally {
    await Deno.remove(logPath);
  }
}

if (Deno.args[0] === "--serve") {
  await runServer(Deno.args[1] as Kind, Deno.args[2] ?? "");
} else {
  const only = Deno.env.get("BENCH_ONLY");
  if (only !== "log") await overload();
  if (only !== "overload") await accessLog();
}
