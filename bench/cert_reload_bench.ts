// Certificate reload under load: clients open a new TLS connection per
// request while the server reloads its certificate RELOADS times; prints the
// connects that failed per reload, by kind, and the handover mode.
//
//   deno run --unstable-net --allow-net=127.0.0.1,localhost \
//     --allow-read=testdata \
//     bench/cert_reload_bench.ts
//
// Env: BENCH_RELOADS (default 200), BENCH_GAP_MS (default 10, between
// reloads), BENCH_CLIENTS (default 6), BENCH_REUSE_PORT=0 for the
// close-then-rebind listener. Run it once with `sysctl -w
// net.ipv4.tcp_migrate_req=0` and once with `=1` to compare.

import { certReloadHandover, httpServeTlsOpts } from "../http/mod.ts";

const RELOADS = Number(Deno.env.get("BENCH_RELOADS") ?? "200");
const GAP_MS = Number(Deno.env.get("BENCH_GAP_MS") ?? "10");
const CLIENTS = Number(Deno.env.get("BENCH_CLIENTS") ?? "6");
const REUSE_PORT = Deno.env.get("BENCH_REUSE_PORT") !== "0";

const CA = await Deno.readTextFile("testdata/ca.pem");
const PAIRS = [
  {
    certFile: "testdata/localhost.pem",
    keyFile: "testdata/localhost.key",
  },
  {
    certFile: "testdata/localhost2.pem",
    keyFile: "testdata/localhost2.key",
  },
];
const REQUEST = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
);

const server = httpServeTlsOpts(
  { hostname: "127.0.0.1", port: 0 },
  { ...PAIRS[0]!, reusePort: REUSE_PORT },
  () => new Response("ok"),
);
const port = server.addr.port;
const failures = new Map<string, number>();
let ok = 0;
let stop = false;

/** One request on a new connection; returns the failure kind or null. */
async function once(): Promise<string | null> {
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [CA],
    });
  } catch (error) {
    return `connect ${(error as Error).name}`;
  }
  try {
    await conn.handshake();
    await conn.write(REQUEST);
    const buf = new Uint8Array(4096);
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.startsWith("HTTP/1.1 200 ") ? null : "bad response";
  } catch (error) {
    return `exchange ${(error as Error).name}`;
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by the failure above.
    }
  }
}

const loaders = Array.from({ length: CLIENTS }, async () => {
  while (!stop) {
    const kind = await once();
    if (kind === null) ok++;
    else failures.set(kind, (failures.get(kind) ?? 0) + 1);
  }
});

const handover = await certReloadHandover(server);
await new Promise((resolve) => setTimeout(resolve, 200));
const started = performance.now();
const okBefore = ok;
const reloadMs: number[] = [];
for (let i = 0; i < RELOADS; i++) {
  const t0 = performance.now();
  await server.reloadCertificates(PAIRS[(i + 1) % 2]!);
  reloadMs.push(performance.now() - t0);
  await new Promise((resolve) => setTimeout(resolve, GAP_MS));
}
const seconds = (performance.now() - started) / 1000;
const served = ok - okBefore;
stop = true;
await Promise.all(loaders);
await server.shutdown({ graceMs: 1_000 });

reloadMs.sort((a, b) => a - b);
const pick = (q: number) => reloadMs[Math.floor(q * (reloadMs.length - 1))]!;
const failed = [...failures.values()].reduce((a, b) => a + b, 0);
console.log(
  `handover ${handover}, reusePort ${server.reusePort}: ${RELOADS} reloads ` +
    `in ${seconds.toFixed(1)} s, ${(served / seconds).toFixed(0)} new ` +
    `connections/s; reload p50 ${pick(0.5).toFixed(1)} ms, p99 ` +
    `${pick(0.99).toFixed(1)} ms`,
);
console.log(
  `failed connects: ${failed} (${(failed / RELOADS).toFixed(3)} per reload)` +
    (failed === 0 ? "" : ` ${JSON.stringify(Object.fromEntries(failures))}`),
);
