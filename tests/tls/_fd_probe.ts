// Child process of start_test.ts: reading /proc/self/fd needs --allow-all in
// Deno, which the test runner does not have. Prints "<before> <after>".
import { tlsCloseAsync, tlsStartAsync } from "../../tls/mod.ts";
import { CA, serve } from "./_util.ts";

const count = Number(Deno.args[0] ?? "100");
const server = serve((s) => tlsCloseAsync(s));
const countFds = (): number => [...Deno.readDirSync("/proc/self/fd")].length;
const upgrade = async (): Promise<void> => {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const stream = await tlsStartAsync(tcp, {
    hostname: "localhost",
    caCerts: [CA],
  });
  await tlsCloseAsync(stream);
};
await upgrade(); // lazily opened descriptors are not leaks
const before = countFds();
for (let i = 0; i < count; i++) await upgrade();
await server.close();
// Deno releases closed sockets' descriptors asynchronously (about 1 s for a
// few hundred); a leak never comes back, so wait for the count to settle.
const start = Date.now();
while (countFds() > before + 5 && Date.now() - start < 5000) {
  await new Promise((r) => setTimeout(r, 50));
}
console.log(before, countFds());
