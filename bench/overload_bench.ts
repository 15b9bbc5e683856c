// Overload and access-log benchmark of httpServeTlsOpts, servers in `deno
// run` subprocesses, in one run:
//
// 1. Overload. The handler calls a "backend" that serves BACKEND requests at
//    once, SERVICE_MS each, so capacity is well defined. An open-loop client
//    in the style of wrk2 (bench/_open_loop_client.ts: BENCH_CLIENT_CONNECTIONS
//    persistent HTTP/1.1 TLS connections opened before each run, latency
//    from each request's intended send time, so no coordinated omission)
//    offers 4x the measured capacity to: ours with shedding (maxInFlight =
//    BACKEND, maxQueueMs), ours in adaptive mode (maxInFlight = BACKEND,
//    and without maxInFlight: the adaptive limit), ours without, and
//    Deno.serve. The same client measures the capacity (closed loop) and
//    the unloaded baseline. Printed: the unloaded p99,
//    the admitted (200) p99 under overload and its ratio to the unloaded one
//    (target <= 3x), the shed (503) p99 (target < 5 ms), and what the
//    servers without shedding do.
// 2. Access log on against off: keep-alive throughput with wrk (target
//    ratio >= 0.9) for a server logging combined lines to a temp file through
//    LogTape with our batching sink (getAccessLogSink) and with LogTape's
//    non-blocking getStreamSink. Each round runs the off/on pair one after
//    the other (wrk -t2 each, plus server CPU per request from /proc) and at
//    the same time (wrk -t1 each, so both see the same outside load).
//
//   deno run --allow-net=127.0.0.1,localhost --allow-read --allow-write \
//     --allow-run --allow-env bench/overload_bench.ts
//
// Env: BENCH_ONLY (log | overload: run one part), BENCH_SECONDS (default 3
// per case), BENCH_OVERLOAD (default 4), BENCH_SERVICE_MS (default 5),
// BENCH_BACKEND (default 2), BENCH_QUEUE_MS (maxQueueMs, default
// 2 * SERVICE_MS), BENCH_CONNECTIONS (wrk, default 50), BENCH_ROUNDS (log
// part, default 1), BENCH_CLIENT_CONNECTIONS (overload client, default 64).

import {
  cpuSeconds,
  runWrk,
  type ServerProcess,
  spawnServer,
} from "./_harness.ts";
import {
  closedLoop,
  type LoadResult as Load,
  openLoop as openLoopClient,
  type Target,
} from "./_open_loop_client.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "3");
const OVERLOAD = Number(Deno.env.get("BENCH_OVERLOAD") ?? "4");
const SERVICE_MS = Number(Deno.env.get("BENCH_SERVICE_MS") ?? "5");
const BACKEND = Number(Deno.env.get("BENCH_BACKEND") ?? "2");
const QUEUE_MS = Number(Deno.env.get("BENCH_QUEUE_MS") ?? 2 * SERVICE_MS);
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? "50");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "1");
/** A request not answered within this is counted as timed out. */
const TIMEOUT_MS = 5_000;
/** Persistent connections of the open-loop client, opened before a run. */
const CLIENT_CONNECTIONS = Number(
  Deno.env.get("BENCH_CLIENT_CONNECTIONS") ?? "64",
);

type Kind =
  | "shed"
  | "adaptive"
  | "adaptive-auto"
  | "noshed"
  | "deno"
  | "log-off"
  | "log-sink"
  | "log-stream";

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
  } else if (kind === "adaptive-auto") {
    // Nothing to tune: the in-flight limit adapts to the slots' hold times.
    http.httpServeTlsOpts(
      { ...config, adaptiveShedding: true },
      { cert, key },
      slow,
    );
  } else if (kind === "noshed") {
    http.httpServeTlsOpts(config, { cert, key }, slow);
  } else {
    const on = kind !== "log-off";
    if (on) {
      const { configure, dispose, getStreamSink } = await import(
        "@logtape/logtape"
      );
      const file = await Deno.open(logPath, { write: true, append: true });
      const sink = kind === "log-sink"
        ? http.getAccessLogSink(file.writable)
        : getStreamSink(file.writable, {
          formatter: http.accessLineFormatter,
          nonBlocking: true,
        });
      await configure({
        sinks: { file: sink },
        loggers: [
          // "override" spares LogTape a walk up to the root per record.
          {
            category: ["quartz", "http", "access"],
            sinks: ["file"],
            parentSinks: "override",
          },
          { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
        ],
      });
      // Write what is buffered before exiting, so lines can be counted.
      Deno.addSignalListener("SIGTERM", async () => {
        await dispose();
        Deno.exit(0);
      });
    } else {
      // An orderly exit, as with logging on (and --cpu-prof gets written).
      Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
    }
    http.httpServeTlsOpts(
      { ...config, accessLog: on },
      { cert, key },
      () => new Response("Hello World!"),
    );
  }
}

/** Starts a server subprocess; returns its port and a stop function. */
function spawn(kind: Kind, logPath = ""): Promise<ServerProcess> {
  return spawnServer(kind, [
    "--allow-net=127.0.0.1",
    "--allow-read=testdata",
    `--allow-write=${logPath || "testdata"}`,
    "--allow-env",
    new URL(import.meta.url).pathname,
    "--serve",
    kind,
    logPath,
  ]);
}

const CA = await Deno.readTextFile("testdata/ca.pem");

function target(port: number): Target {
  return { hostname: "localhost", port, caCerts: [CA] };
}

/** Offers `rate` requests per second for `seconds`, open loop. */
function openLoop(port: number, rate: number, seconds: number) {
  return openLoopClient(target(port), rate, seconds, {
    connections: CLIENT_CONNECTIONS,
    timeoutMs: TIMEOUT_MS,
  });
}

/** Closed loop with `n` connections: the server's capacity in req/s. */
function capacity(port: number, n: number, seconds: number) {
  return closedLoop(target(port), n, seconds);
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
  } ms  other ${l.other} timeouts ${l.timeouts}; client: waited for a ` +
    `connection ${l.waitedForConnection}, reconnects ${l.reconnects}, ` +
    `send lag p99 ${pct(l.sendLag, 0.99).toFixed(1)} ms`;
}

interface WrkResult {
  /** Requests per second of the measured run. */
  rps: number;
  /** Responses completed in the warm-up and the measured run. */
  total: number;
  /** Server CPU time (user + system) per request in the measured run, µs. */
  cpuUs: number;
}

/** Keep-alive load with wrk after a 1 s warm-up. */
async function wrkRps(
  server: { port: number; pid: number },
  threads = 2,
): Promise<WrkResult> {
  const url = `https://127.0.0.1:${server.port}/`;
  const run = async (args: string[]) => {
    const { rps, text } = await runWrk([...args, url]);
    return { rps, total: Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN) };
  };
  const warm = await run(["-t1", `-c${CONNECTIONS}`, "-d1s"]);
  const cpu0 = await cpuSeconds(server.pid);
  const main = await run([`-t${threads}`, `-c${CONNECTIONS}`, `-d${SECONDS}s`]);
  const cpu1 = await cpuSeconds(server.pid);
  return {
    rps: main.rps,
    total: warm.total + main.total,
    cpuUs: ((cpu1 - cpu0) / main.total) * 1e6,
  };
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
    "adaptive-auto": "ours, adaptive, no maxInFlight",
    noshed: "ours, no shedding",
    deno: "Deno.serve",
  };
  for (
    const kind of ["adaptive", "adaptive-auto", "noshed", "deno"] as const
  ) {
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type LogKind = "log-sink" | "log-stream";
const SINKS: Record<LogKind, string> = {
  "log-sink": "getAccessLogSink (ours, batched)",
  "log-stream": "getStreamSink({ nonBlocking: true })",
};

async function countLines(path: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  return text.length === 0 ? 0 : text.split("\n").length - 1;
}

/** Off then on, each alone: req/s ratio and server CPU-per-request ratio. */
async function logSequential(kind: LogKind, logPath: string) {
  const a = await spawn("log-off");
  const off = await wrkRps(a);
  await a.stop();
  const b = await spawn(kind, logPath);
  const on = await wrkRps(b);
  await b.stop();
  await printLogRound("alone   ", kind, off, on, logPath);
  return { rps: on.rps / off.rps, cpu: off.cpuUs / on.cpuUs };
}

/** One line per off/on pair: req/s, CPU per request, ratios, lines written. */
async function printLogRound(
  how: string,
  kind: LogKind,
  off: Awaited<ReturnType<typeof wrkRps>>,
  on: Awaited<ReturnType<typeof wrkRps>>,
  logPath: string,
): Promise<void> {
  const lines = await countLines(logPath);
  console.log(
    `  ${how} ${SINKS[kind].padEnd(38)} off ${off.rps.toFixed(0)} req/s ${
      off.cpuUs.toFixed(1)
    } µs CPU/req, on ${on.rps.toFixed(0)} req/s ${
      on.cpuUs.toFixed(1)
    } µs CPU/req: ratio ${(on.rps / off.rps).toFixed(2)}, CPU ratio ${
      (off.cpuUs / on.cpuUs).toFixed(2)
    }; ${lines} lines for ${on.total} requests completed`,
  );
}

/**
 * Off and on loaded at the same time by one wrk each: both see the same
 * interference from the rest of the machine, and with the CPU shared evenly
 * the req/s ratio is the cost of logging.
 */
async function logTogether(kind: LogKind, logPath: string) {
  const a = await spawn("log-off");
  const b = await spawn(kind, logPath);
  const [off, on] = await Promise.all([wrkRps(a, 1), wrkRps(b, 1)]);
  await a.stop();
  await b.stop();
  await printLogRound("together", kind, off, on, logPath);
  return on.rps / off.rps;
}

function spread(values: number[]): string {
  return `median ${median(values).toFixed(2)} (${
    Math.min(...values).toFixed(2)
  }-${Math.max(...values).toFixed(2)})`;
}

async function accessLog(): Promise<void> {
  const results: Record<
    LogKind,
    { rps: number[]; cpu: number[]; together: number[] }
  > = {
    "log-sink": { rps: [], cpu: [], together: [] },
    "log-stream": { rps: [], cpu: [], together: [] },
  };
  console.log(
    `Access log: wrk -c${CONNECTIONS} -d${SECONDS}s keep-alive against a ` +
      `server logging combined lines to a file through LogTape, off against ` +
      `on alone (wrk -t2) and together (wrk -t1 each), ${ROUNDS} round(s)`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(` round ${round}`);
    for (const kind of ["log-sink", "log-stream"] as const) {
      for (const together of [false, true]) {
        const logPath = await Deno.makeTempFile({ prefix: "quartz_access_" });
        try {
          if (together) {
            results[kind].together.push(await logTogether(kind, logPath));
          } else {
            const r = await logSequential(kind, logPath);
            results[kind].rps.push(r.rps);
            results[kind].cpu.push(r.cpu);
          }
        } finally {
          await Deno.remove(logPath);
        }
      }
    }
  }
  for (const kind of ["log-sink", "log-stream"] as const) {
    const r = results[kind];
    console.log(
      `Access log ${SINKS[kind]}, on/off (target >= 0.9): req/s alone ${
        spread(r.rps)
      }, CPU per request alone ${spread(r.cpu)}, req/s together ${
        spread(r.together)
      }`,
    );
  }
}

if (Deno.args[0] === "--serve") {
  await runServer(Deno.args[1] as Kind, Deno.args[2] ?? "");
} else {
  const only = Deno.env.get("BENCH_ONLY");
  if (only !== "log") await overload();
  if (only !== "overload") await accessLog();
}
