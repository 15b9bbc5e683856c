// Whether a certificate reload loses connects on this machine. The reload
// closes the old SO_REUSEPORT listener; what the kernel does with the
// connections queued on it depends on net.ipv4.tcp_migrate_req (Linux 5.14+,
// per network namespace). Deno 2.9.6 lets only --allow-all read /proc, so we
// ask the kernel instead: a loopback probe does what a reload does and
// watches the queued connections.

import type { CertReloadHandover } from "./cert_reload.ts";

/** Connections queued on the probe's first listener. */
const PROBE_CONNECTS = 4;
/** Bounds a probe on a stalled machine; the answer is then "unknown". */
const PROBE_TIMEOUT_MS = 2_000;
/** Loopback names the probe may use, if net permission covers one. */
const PROBE_HOSTS = ["127.0.0.1", "localhost"];

type ReuseListenOptions = Deno.TcpListenOptions & { reusePort: boolean };

/**
 * The handover mode of a listener bound with or without `reusePort`.
 * Without net permission for a loopback address, `"unknown"` (checked
 * without prompting).
 */
export async function probeHandover(
  reusePort: boolean,
): Promise<CertReloadHandover> {
  if (!reusePort) return "refuse";
  const hostname = PROBE_HOSTS.find((host) =>
    Deno.permissions.querySync({ name: "net", host }).state === "granted"
  );
  if (hostname === undefined) return "unknown";
  const migrated = await queuedConnectsMigrate(hostname);
  return migrated === null ? "unknown" : migrated ? "migrate" : "reset";
}

/**
 * Queues connections on a reuseport listener, opens a second one on the same
 * port, closes the first and serves one byte on the second: each client then
 * reads that byte (its connection moved) or a reset (it was dropped).
 * Returns null if the clients got neither in time.
 */
async function queuedConnectsMigrate(
  hostname: string,
): Promise<boolean | null> {
  const options: ReuseListenOptions = { hostname, port: 0, reusePort: true };
  const first = Deno.listen(options);
  let firstOpen = true;
  let second: Deno.Listener | null = null;
  let serving: Promise<void> = Promise.resolve();
  const conns: Deno.Conn[] = [];
  let timedOut = false;
  const closeConns = () => {
    for (const conn of conns.splice(0)) closeOnce(conn);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    closeConns();
  }, PROBE_TIMEOUT_MS);
  try {
    const port = (first.addr as Deno.NetAddr).port;
    const clients: Deno.Conn[] = [];
    for (let i = 0; i < PROBE_CONNECTS; i++) {
      const client = await Deno.connect({ hostname, port });
      clients.push(client);
      conns.push(client);
    }
    second = Deno.listen({ ...options, port });
    first.close();
    firstOpen = false;
    serving = serveOneByte(second, conns);
    const outcomes = await Promise.all(clients.map(readOneByte));
    if (timedOut || outcomes.includes(null)) return null;
    return outcomes.every((moved) => moved);
  } finally {
    clearTimeout(timer);
    if (firstOpen) first.close();
    second?.close();
    await serving;
    closeConns();
  }
}

async function serveOneByte(
  listener: Deno.Listener,
  conns: Deno.Conn[],
): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      // The probe closed the listener: done.
      if (error instanceof Deno.errors.BadResource) return;
      throw error;
    }
    conns.push(conn);
    try {
      await conn.write(new Uint8Array([1]));
    } catch (error) {
      // The timeout closed it; the clients' reads report that.
      if (error instanceof Deno.errors.BadResource) return;
      throw error;
    }
  }
}

/** True: got the byte; false: reset; null: closed by the probe's timeout. */
async function readOneByte(conn: Deno.Conn): Promise<boolean | null> {
  try {
    return await conn.read(new Uint8Array(1)) === 1;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return false;
    if (
      error instanceof Deno.errors.BadResource ||
      error instanceof Deno.errors.Interrupted
    ) return null;
    throw error;
  }
}

function closeOnce(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/** What an operator is told at the first reload that can lose connects. */
export function handoverWarning(mode: CertReloadHandover): string | null {
  switch (mode) {
    case "migrate":
      return null;
    case "reset":
      return "Certificate reload is not zero-loss: net.ipv4.tcp_migrate_req is 0, so a connect queued on the old listener as it closes is reset; run sysctl -w net.ipv4.tcp_migrate_req=1 to have the kernel move them to the new listener";
    case "unknown":
      return "Certificate reload may not be zero-loss: cannot probe net.ipv4.tcp_migrate_req (needs --allow-net=127.0.0.1); with sysctl -w net.ipv4.tcp_migrate_req=1 (Linux 5.14+) it is";
    case "refuse":
      return "Certificate reload is not zero-loss: without reusePort (Linux with --unstable-net) the listener is closed and bound again, and connects in between are refused";
  }
}
