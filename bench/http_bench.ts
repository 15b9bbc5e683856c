// HTTPS server benchmark: httpServeTlsOpts against Deno.serve, same
// certificate, same handler (12-byte body), same load generator (wrk), in one
// run. Each server runs in its own `deno run` subprocess. A third server, a
// bare JavaScript loop over Deno.listenTls (no HTTP parsing, a fixed
// response), shows the floor any JavaScript server on Deno's TLS API pays.
//
//   deno run --allow-net=127.0.0.1 --allow-read=testdata,bench,http,tls,concurrency \
//     --allow-run --allow-env bench/http_bench.ts
//
// Env: BENCH_SECONDS (default 5 per case), BENCH_CONNECTIONS (default 50),
// BENCH_THREADS (default 2), BENCH_TLS=0 for plain TCP, BENCH_MAX_REQ (our
// maxRequestsPerConnection, default 0 = unlimited like Deno.serve), BENCH_ROUNDS
// (default 2): the servers alternate round by round; the best round of each
// is printed, and the median of the rounds' paired ratios (steadier than the
// ratio of two best rounds when other load comes and goes). BENCH_CASES
// (default "keep-alive,close,pipelined,post,app,h2load,h2load-close,s_time")
// picks the cases. "s_time" counts full
// TLS handshakes made one at a time by `openssl s_time -new` (each followed by
// a `GET /`): handshakes per second seen by a single client, where wrk's
// close case measures them under 50 concurrent clients sharing the CPU.
// "pipelined" sends runs of BENCH_PIPELINE (16) requests
// at once on each keep-alive connection (bench/pipeline.lua), as HTTP/1.1
// pipelining benchmarks do; the bare loop, one response per read, sits it out.
// "post" POSTs a 512-byte JSON object (bench/post.lua) to a handler that
// parses it and answers JSON; "app" sends browser-like headers to a handler
// that parses its URL, reads two headers and answers with two headers of its
// own. Those two measure handlers, so the bare loop sits them out too.
// "h2load" and "h2load-close" put the keep-alive and close loads on a second
// client, h2load (nghttp2-client; skipped with a note when missing): one
// OpenSSL client thread per BENCH_THREADS like wrk, but its own connection
// and read handling. Every run also reads the server's CPU time from
// /proc/<pid>/stat: CPU per request is what decides throughput where the
// client has cores of its own, whatever the machine's other load.

import {
  cpuSeconds,
  hasCommand,
  runH2load,
  runWrk,
  type ServerProcess,
  spawnServer,
  warmUp,
} from "./_harness.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "5");
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? "50");
const THREADS = Number(Deno.env.get("BENCH_THREADS") ?? "2");
const TLS = Deno.env.get("BENCH_TLS") !== "0";
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "2");
const CASES = (Deno.env.get("BENCH_CASES") ??
  "keep-alive,close,pipelined,post,app,h2load,h2load-close,s_time")
  .split(",");
const PIPELINE = Number(Deno.env.get("BENCH_PIPELINE") ?? "16");
const BODY = "Hello World!"; // 12 bytes

type Kind = "ours" | "deno" | "bare";
type Mode =
  | "keep-alive"
  | "close"
  | "pipelined"
  | "post"
  | "app"
  | "h2load"
  | "h2load-close";

/** The handler a case measures: the same for every server. */
function handlerFor(
  mode: string,
): (req: Request) => Response | Promise<Response> {
  if (mode === "post") {
    // A JSON API: parse the body, answer JSON.
    return async (req) =>
      Response.json({ keys: Object.keys(await req.json()).length });
  }
  if (mode === "app") {
    // What a small app does per request: route on the URL, read a cookie
    // and a header, answer with headers of its own.
    return (req) => {
      const url = new URL(req.url);
      const session = req.headers.get("cookie")?.length ?? 0;
      const accept = req.headers.get("accept")?.length ?? 0;
      return new Response(
        `${url.pathname} ${
          url.searchParams.get("fields")
        } ${session} ${accept}\n`,
        {
          headers: {
            "content-type": "text/plain; charset=utf-8",
            "cache-control": "no-store",
          },
        },
      );
    };
  }
  return () => new Response(BODY);
}

/** What a browser sends with a request (the "app" case). */
const APP_HEADERS = [
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "Accept-Language: en-US,en;q=0.9",
  "Accept-Encoding: gzip, deflate, br, zstd",
  "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark",
  "Sec-Fetch-Mode: navigate",
];

/**
 * The floor of any server written in JavaScript over Deno.listenTls: accept,
 * one read, one write of a fixed response, close (no parsing, no Request or
 * Response objects). Keep-alive answers one response per read, enough for wrk,
 * which does not pipeline.
 */
function bareLoop(
  listener: Deno.Listener,
  close: boolean,
): void {
  const response = new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\n` +
      `content-length: ${BODY.length}\r\n` +
      (close ? "connection: close\r\n" : "") +
      `date: ${new Date().toUTCString()}\r\n\r\n${BODY}`,
  );
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    try {
      while ((await conn.read(buf)) !== null) {
        await conn.write(response);
        if (close) break;
      }
    } catch {
      // A client reset ends the connection; nothing to report in a bench.
    }
    try {
      conn.close();
    } catch {
      // Already closed by the peer.
    }
  };
  (async () => {
    for await (const conn of listener) void serve(conn);
  })();
}

async function runServer(kind: Kind, tls: boolean): Promise<void> {
  const cert = await Deno.readTextFile("testdata/localhost.pem");
  const key = await Deno.readTextFile("testdata/localhost.key");
  const handler = handlerFor(Deno.args[3] ?? "");
  const onListen = (addr: Deno.NetAddr) => console.log(`PORT ${addr.port}`);
  if (kind === "deno") {
    const base = { hostname: "127.0.0.1", port: 0, onListen };
    Deno.serve(tls ? { ...base, cert, key } : base, handler);
    return;
  }
  if (kind === "bare") {
    const base = { hostname: "127.0.0.1", port: 0 };
    const listener = tls
      ? Deno.listenTls({ ...base, cert, key, alpnProtocols: ["http/1.1"] })
      : Deno.listen(base);
    onListen(listener.addr as Deno.NetAddr);
    bareLoop(listener, Deno.args[3] === "close");
    return;
  }
  const { httpServeOpts, httpServeTlsOpts } = await import("../http/mod.ts");
  const config = {
    hostname: "127.0.0.1",
    port: 0,
    onListen,
    maxRequestsPerConnection: Number(Deno.env.get("BENCH_MAX_REQ") ?? "0"),
  };
  if (tls) httpServeTlsOpts(config, { cert, key }, handler);
  else httpServeOpts(config, handler);
}

/** One measured run of one server. */
interface Figures {
  rps: number;
  /** Latency percentiles in ms (wrk; NaN from h2load). */
  p50: number;
  p99: number;
  /** Mean time per request in ms (h2load; NaN from wrk). */
  meanMs: number;
  /** The load generator's error counts, or "". */
  errors: string;
  /** Server CPU time (user + system) per request, µs (NaN off Linux). */
  cpuUs: number;
}

/** This file as a server of `kind` in its own subprocess. */
function startServer(
  kind: Kind,
  tls: boolean,
  mode: Mode,
): Promise<ServerProcess> {
  return spawnServer(kind, [
    "--allow-net=127.0.0.1",
    "--allow-read=testdata",
    "--allow-env",
    new URL(import.meta.url).pathname,
    "--serve",
    kind,
    tls ? "tls" : "tcp",
    mode,
  ]);
}

async function measure(kind: Kind, mode: Mode): Promise<Figures> {
  // The server's handler and the bare loop's close follow the traffic.
  const serverMode = mode === "h2load-close"
    ? "close"
    : mode === "h2load"
    ? "keep-alive"
    : mode;
  const server = await startServer(kind, TLS, serverMode);
  try {
    const origin = `${TLS ? "https" : "http"}://127.0.0.1:${server.port}`;
    if (mode === "h2load" || mode === "h2load-close") {
      return await measureH2load(server, `${origin}/`, mode === "h2load-close");
    }
    const url = origin +
      (mode === "app" ? "/api/items/42?fields=name,price" : "/");
    const script = (name: string) =>
      new URL(`./${name}.lua`, import.meta.url).pathname;
    const extra = mode === "close"
      ? ["-H", "Connection: close"]
      : mode === "pipelined"
      ? ["-s", script("pipeline")]
      : mode === "post"
      ? ["-s", script("post")]
      : mode === "app"
      ? APP_HEADERS.flatMap((h) => ["-H", h])
      : [];
    // wrk passes what follows "--" to the script: the pipeline depth.
    const tail = mode === "pipelined" ? [url, "--", String(PIPELINE)] : [url];
    await warmUp(url, CONNECTIONS, extra);
    const cpu0 = await cpuSeconds(server.pid);
    const f = await runWrk([
      `-t${THREADS}`,
      `-c${CONNECTIONS}`,
      `-d${SECONDS}s`,
      "--latency",
      ...extra,
      ...tail,
    ]);
    const cpu1 = await cpuSeconds(server.pid);
    // wrk counts every response, pipelined or not.
    const requests = Number(/(\d+) requests in/.exec(f.text)?.[1] ?? NaN);
    return {
      rps: f.rps,
      p50: f.p50,
      p99: f.p99,
      meanMs: NaN,
      errors: f.errors,
      cpuUs: ((cpu1 - cpu0) / requests) * 1e6,
    };
  } finally {
    await server.stop();
  }
}

/**
 * The same load from a second client, h2load (nghttp2, OpenSSL, `--h1`):
 * a warm-up run that also sizes the measured one to about BENCH_SECONDS
 * (h2load's duration mode stalls when the server closes connections).
 */
async function measureH2load(
  server: ServerProcess,
  url: string,
  close: boolean,
): Promise<Figures> {
  const args = (requests: number) => [
    "--h1",
    `-t${Math.min(THREADS, CONNECTIONS)}`,
    `-c${CONNECTIONS}`,
    `-n${requests}`,
    ...(close ? ["-H", "Connection: close"] : []),
    url,
  ];
  const warm = await runH2load(args(CONNECTIONS * (close ? 40 : 1000)));
  const requests = Math.max(CONNECTIONS, Math.round(warm.rps * SECONDS));
  const cpu0 = await cpuSeconds(server.pid);
  const f = await runH2load(args(requests));
  const cpu1 = await cpuSeconds(server.pid);
  return {
    rps: f.rps,
    p50: NaN,
    p99: NaN,
    meanMs: f.meanMs,
    errors: f.errors,
    cpuUs: ((cpu1 - cpu0) / f.requests) * 1e6,
  };
}

/**
 * Full handshakes per second from `openssl s_time -new` (one connection at a
 * time, each fetching `/` over HTTP/1.0) against a fresh server of `kind`.
 */
async function measureSTime(kind: Kind): Promise<number> {
  const server = await startServer(kind, true, "close");
  try {
    const run = (seconds: number) =>
      new Deno.Command("openssl", {
        args: [
          "s_time",
          "-connect",
          `127.0.0.1:${server.port}`,
          "-new",
          "-time",
          String(seconds),
          "-www",
          "/",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    await run(1); // warm-up
    const out = await run(SECONDS);
    const text = new TextDecoder().decode(out.stdout);
    const count = /(\d+) connections in [\d.]+s/.exec(text);
    if (!out.success || count === null) {
      throw new Error(`Unexpected openssl s_time output: ${text}`);
    }
    return Number(count[1]) / SECONDS;
  } finally {
    await server.stop();
  }
}

function best(a: Figures | null, b: Figures): Figures {
  return a === null || b.rps > a.rps ? b : a;
}

function row(name: string, f: Figures, latency = true): string {
  const rps = `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(9)} req/s`;
  const cpu = `cpu ${f.cpuUs.toFixed(1).padStart(6)} µs/req`;
  if (!latency) return `${rps}  ${cpu}  ${f.errors}`;
  if (!Number.isNaN(f.meanMs)) {
    return `${rps}  mean ${
      f.meanMs.toFixed(2).padStart(6)
    } ms  ${cpu}  ${f.errors}`;
  }
  return `${rps}  p50 ${f.p50.toFixed(2).padStart(7)} ms  p99 ${
    f.p99.toFixed(2).padStart(7)
  } ms  ${cpu}  ${f.errors}`;
}

if (Deno.args[0] === "--serve") {
  await runServer(Deno.args[1] as Kind, Deno.args[2] !== "tcp");
} else {
  console.log(
    `wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s, ${
      TLS ? "HTTPS" : "HTTP"
    }, 12-byte body unless said, best of ${ROUNDS} alternating rounds`,
  );
  for (
    const mode of ["keep-alive", "close", "pipelined", "post", "app"] as const
  ) {
    if (CASES.includes(mode)) await wrkCase(mode);
  }
  const h2loadModes = (["h2load", "h2load-close"] as const).filter((mode) =>
    CASES.includes(mode)
  );
  if (h2loadModes.length > 0 && !(await hasCommand("h2load"))) {
    console.log(
      "h2load cases skipped: h2load is not installed " +
        "(apt-get install nghttp2-client)",
    );
  } else {
    for (const mode of h2loadModes) await wrkCase(mode);
  }
  if (CASES.includes("s_time")) await sTimeCase();
}

/** One load case (wrk or h2load): the servers alternate round by round. */
async function wrkCase(mode: Mode): Promise<void> {
  const label = mode === "h2load"
    ? "h2load keep-alive"
    : mode === "h2load-close"
    ? "h2load close"
    : mode === "close"
    ? "Connection: close"
    : mode === "pipelined"
    ? `pipelined x${PIPELINE}`
    : mode === "post"
    ? "POST 512 B JSON"
    : mode === "app"
    ? "app handler"
    : "keep-alive";
  // The bare loop answers one fixed response per read: no pipelining, no
  // handler.
  const withBare = mode === "keep-alive" || mode === "close" ||
    mode === "h2load" || mode === "h2load-close";
  let deno: Figures | null = null;
  let ours: Figures | null = null;
  let bare: Figures | null = null;
  // Each round runs the servers back to back: the ratio of a round compares
  // servers under the same load from other processes.
  const oursRatios: number[] = [];
  const bareRatios: number[] = [];
  // Server CPU per request of each round: what decides throughput where
  // the server, not the client, is short of CPU.
  const cpu = {
    deno: [] as number[],
    ours: [] as number[],
    bare: [] as number[],
  };
  const figure = (f: Figures) =>
    `${f.rps.toFixed(0)} (${f.cpuUs.toFixed(1)} µs)`;
  for (let round = 0; round < ROUNDS; round++) {
    const d = await measure("deno", mode);
    const o = await measure("ours", mode);
    const b = withBare ? await measure("bare", mode) : null;
    deno = best(deno, d);
    ours = best(ours, o);
    oursRatios.push(o.rps / d.rps);
    cpu.deno.push(d.cpuUs);
    cpu.ours.push(o.cpuUs);
    if (b !== null) {
      bare = best(bare, b);
      bareRatios.push(b.rps / d.rps);
      cpu.bare.push(b.cpuUs);
    }
    console.log(
      `  round ${round + 1}: Deno.serve ${figure(d)}, ours ${figure(o)}${
        b === null ? "" : `, bare loop ${figure(b)}`
      } req/s (server CPU per request)`,
    );
  }
  if (deno === null || ours === null) throw new RangeError("BENCH_ROUNDS < 1");
  // wrk times a pipelined run as one request: its latencies mean nothing.
  const latency = mode !== "pipelined";
  const lat = (a: Figures, b: Figures) =>
    !latency
      ? ""
      : Number.isNaN(a.meanMs)
      ? `, p50 ${(a.p50 / b.p50).toFixed(2)}x, p99 ${
        (a.p99 / b.p99).toFixed(2)
      }x`
      : `, mean latency ${(a.meanMs / b.meanMs).toFixed(2)}x`;
  console.log(row(`Deno.serve ${label}`, deno, latency));
  console.log(row(`httpServeTlsOpts ${label}`, ours, latency));
  if (bare !== null) console.log(row(`bare JS loop ${label}`, bare));
  console.log(
    `ratio ours/Deno.serve: throughput ${(ours.rps / deno.rps).toFixed(2)}x` +
      lat(ours, deno) +
      (bare === null
        ? ""
        : `; bare loop/Deno.serve: throughput ${
          (bare.rps / deno.rps).toFixed(2)
        }x; ours/bare loop: ${(ours.rps / bare.rps).toFixed(2)}x`),
  );
  console.log(
    `median of the ${ROUNDS} rounds' throughput ratios: ours/Deno.serve ${
      median(oursRatios).toFixed(2)
    }x (${span(oursRatios)})` +
      (bare === null
        ? ""
        : `, bare loop/Deno.serve ${median(bareRatios).toFixed(2)}x (${
          span(bareRatios)
        })`),
  );
  const cpuDeno = median(cpu.deno);
  console.log(
    `server CPU per request, median of rounds: Deno.serve ${
      cpuDeno.toFixed(1)
    } µs, ours ${median(cpu.ours).toFixed(1)} µs (${
      (median(cpu.ours) / cpuDeno).toFixed(2)
    }x)` +
      (cpu.bare.length === 0
        ? ""
        : `, bare loop ${median(cpu.bare).toFixed(1)} µs (${
          (median(cpu.bare) / cpuDeno).toFixed(2)
        }x)`),
  );
}

async function sTimeCase(): Promise<void> {
  if (!TLS) return;
  if (!(await hasCommand("openssl", "version"))) {
    console.log("s_time case skipped: openssl is not installed");
    return;
  }
  console.log(
    `openssl s_time -new -time ${SECONDS} -www /: full TLS handshakes one at a ` +
      `time, ${ROUNDS} alternating rounds`,
  );
  const oursRatios: number[] = [];
  const bareRatios: number[] = [];
  const totals = { deno: 0, ours: 0, bare: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const d = await measureSTime("deno");
    const o = await measureSTime("ours");
    const b = await measureSTime("bare");
    totals.deno += d;
    totals.ours += o;
    totals.bare += b;
    oursRatios.push(o / d);
    bareRatios.push(b / d);
    console.log(
      `  round ${round + 1}: Deno.serve ${d.toFixed(0)}, ours ${
        o.toFixed(0)
      }, bare loop ${b.toFixed(0)} handshakes/s`,
    );
  }
  console.log(
    `handshakes/s over all rounds: Deno.serve ${
      (totals.deno / ROUNDS).toFixed(0)
    }, ours ${(totals.ours / ROUNDS).toFixed(0)}, bare loop ${
      (totals.bare / ROUNDS).toFixed(0)
    }; ratio ours/Deno.serve ${(totals.ours / totals.deno).toFixed(2)}x` +
      ` (median of rounds ${median(oursRatios).toFixed(2)}x, ${
        span(oursRatios)
      }), bare loop/Deno.serve ${(totals.bare / totals.deno).toFixed(2)}x`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function span(xs: number[]): string {
  return `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
}
