// Run by workers_test.ts in a `deno run` without --unstable-net: prints what
// httpServeTlsWorkers() started and what a request got.

import { httpServeTlsWorkers } from "../../http/mod.ts";

const server = await httpServeTlsWorkers({
  hostname: "127.0.0.1",
  port: 0,
  workers: { count: 2, module: new URL("./_worker_app.ts", import.meta.url) },
}, { certFile: "testdata/localhost.pem", keyFile: "testdata/localhost.key" });
const client = Deno.createHttpClient({
  caCerts: [await Deno.readTextFile("testdata/ca.pem")],
});
const res = await fetch(`https://localhost:${server.addr.port}/`, { client });
const body = await res.text();
client.close();
await server.shutdown({ graceMs: 1_000 });
console.log(JSON.stringify({
  workers: server.workers,
  reusePort: server.reusePort,
  body,
  served: server.stats().requestsServed,
}));
