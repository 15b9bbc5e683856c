// Multi-core benchmark: httpServeTlsWorkers with 2 workers against 1 worker
// (the baseline), same module (12-byte body), same wrk load, in one run.
//
//   deno run --unstable-net --allow-net=127.0.0.1 \
//     --allow-read=testdata,bench,http,tls,concurrency --allow-run=wrk \
//     --allow-env bench/workers_bench.ts
//
// Env: BENCH_SECONDS (default 5 per case), BENCH_CONNECTIONS (default 50),
// BENCH_THREADS (default 2), BENCH_ROUNDS (default 2), BENCH_WORKERS
// (default 2), BENCH_CLOSE=1 for a new connection per request. The counts
// alternate round by round; the best round of each is printed. wrk runs on
// the same cores as the server, so on a 2-core machine the gain is bounded.

import { httpServeTlsWorkers } from "../http/mod.ts";
import { runWrk, type WrkFigures } from "./_harness.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? "5");
const CONNECTIONS = Number(Deno.env.get("BENCH_CONNECTIONS") ?? "50");
const THREADS = Number(Deno.env.get("BENCH_THREADS") ?? "2");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "2");
const WORKERS = Number(Deno.env.get("BENCH_WORKERS") ?? "2");
const CLOSE = Deno.env.get("BENCH_CLOSE") === "1";

type Figures = WrkFigures;

function wrk(url: string, seconds: number): Promise<Figures> {
  return runWrk([
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    "--latency",
    ...(CLOSE ? ["-H", "Connection: close"] : []),
    url,
  ]);
}

async function measure(count: number): Promise<Figures> {
  const server = await httpServeTlsWorkers({
    hostname: "127.0.0.1",
    port: 0,
    workers: { count, module: new URL("./_workers_app.ts", import.meta.url) },
  }, {
    certFile: "testdata/localhost.pem",
    keyFile: "testdata/localhost.key",
  });
  if (server.workers !== count) {
    await server.shutdown();
    throw new Error(
      `Started ${server.workers} workers, not ${count}: run with --unstable-net on Linux`,
    );
  }
  try {
    const url = `https://127.0.0.1:${server.addr.port}/`;
    await wrk(url, 1); // warm-up: JIT and session setup
    return await wrk(url, SECONDS);
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
}

const best = new Map<number, Figures>();
for (let round = 0; round < ROUNDS; round++) {
  for (const count of round % 2 === 0 ? [1, WORKERS] : [WORKERS, 1]) {
    const figures = await measure(count);
    console.log(
      `round ${round + 1}, ${count} worker(s): ${
        figures.rps.toFixed(0)
      } req/s, p99 ${figures.p99.toFixed(1)} ms`,
    );
    const previous = best.get(count);
    if (previous === undefined || figures.rps > previous.rps) {
      best.set(count, figures);
    }
  }
}
const one = best.get(1)!;
const many = best.get(WORKERS)!;
console.log(
  `\nwrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s${
    CLOSE ? ", Connection: close" : ", keep-alive"
  }, ${navigator.hardwareConcurrency} cores, best of ${ROUNDS}`,
);
console.log(
  `1 worker:  ${one.rps.toFixed(0)} req/s, p99 ${one.p99.toFixed(1)} ms`,
);
console.log(
  `${WORKERS} workers: ${many.rps.toFixed(0)} req/s, p99 ${
    many.p99.toFixed(1)
  } ms`,
);
console.log(
  `ratio: ${(many.rps / one.rps).toFixed(2)}x req/s, ${
    (many.p99 / one.p99).toFixed(2)
  }x p99`,
);
