// reloadCertificates() under load: clients connecting while the server
// reloads. Where the kernel migrates a closing listener's queue
// (certReloadHandover() === "migrate"), no connect and no request may fail.

import assert from "node:assert/strict";
import {
  type CertReloadHandover,
  certReloadHandover,
  httpServeTlsOpts,
  type HttpsServer,
} from "../../http/mod.ts";
import { CA, CERT, RawClient } from "./_helpers.ts";
import { CERT2, FILES, FILES2, firstPem, servedCert } from "./_reload.ts";

const REQUEST = new TextEncoder().encode(
  "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
);

// The server's default: SO_REUSEPORT on Linux with --unstable-net.
const REUSE_PORT = Deno.build.os === "linux" &&
  typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram ===
    "function";
const HANDOVER: CertReloadHandover = await certReloadHandover({
  reusePort: REUSE_PORT,
});
if (HANDOVER !== "migrate") {
  console.log(
    `cert_reload_load_test: zero-loss test skipped: reload handover is "${HANDOVER}" ` +
      "(needs Linux, --unstable-net and sysctl net.ipv4.tcp_migrate_req=1)",
  );
}

function start(): HttpsServer {
  return httpServeTlsOpts(
    { hostname: "127.0.0.1", port: 0 },
    FILES,
    async (req, info) => {
      // Keeps requests in flight across a reload.
      if (new URL(req.url).pathname === "/slow") {
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      return new Response(`${info.remoteAddr.port} ${info.requestIndex}`);
    },
  );
}

interface Load {
  /** Requests on new connections that got a 200. */
  fresh: number;
  /** Keep-alive requests after the first on their connection. */
  reused: number;
  /** Dropped connects retried (only with `retryDropped`). */
  retried: number;
  failures: string[];
}

/** A request on a new connection; returns an error text, "dropped" or null. */
async function freshRequest(port: number): Promise<string | null> {
  let conn: Deno.TlsConn | null = null;
  let got = "";
  try {
    conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [CA],
    });
    await conn.handshake();
    await conn.write(REQUEST);
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) {
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    return got.startsWith("HTTP/1.1 200 ")
      ? null
      : `Bad response ${JSON.stringify(got)}`;
  } catch (error) {
    // Reset (or refused, while a listener is bound again) before any byte
    // of the response: the connect was dropped.
    if (
      got === "" && (error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionRefused)
    ) return "dropped";
    return String(error);
  } finally {
    if (conn !== null) closeOnce(conn);
  }
}

function closeOnce(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/**
 * Runs new-connection clients and a keep-alive client of slow requests until
 * `during` resolves; `retryDropped` retries a dropped connect (up to 5 times).
 */
async function underLoad(
  port: number,
  retryDropped: boolean,
  during: (load: Load) => Promise<void>,
): Promise<Load> {
  const load: Load = { fresh: 0, reused: 0, retried: 0, failures: [] };
  let stop = false;
  const fresh = Array.from({ length: 6 }, async () => {
    while (!stop) {
      let outcome = await freshRequest(port);
      for (let retry = 0; retry < 5 && outcome === "dropped"; retry++) {
        if (!retryDropped) break;
        load.retried++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        outcome = await freshRequest(port);
      }
      if (outcome === null) load.fresh++;
      else load.failures.push(outcome);
    }
  });
  const keepAlive = (async () => {
    const client = Deno.createHttpClient({ caCerts: [CA] });
    try {
      while (!stop) {
        const res = await fetch(`https://localhost:${port}/slow`, { client });
        const body = await res.text();
        if (res.status !== 200) load.failures.push(`Status ${res.status}`);
        if (!body.endsWith(" 0")) load.reused++;
      }
    } catch (error) {
      load.failures.push(`Keep-alive: ${error}`);
    } finally {
      client.close();
    }
  })();
  try {
    await during(load);
  } finally {
    stop = true;
    await Promise.all([...fresh, keepAlive]);
  }
  return load;
}

Deno.test({
  name:
    "reloadCertificates() under load fails no connect and no request when the kernel migrates the queue",
  ignore: HANDOVER !== "migrate",
  async fn() {
    const server = start();
    const port = server.addr.port;
    try {
      const reloads = 200;
      let servedAfter = 0;
      const load = await underLoad(port, false, async (load) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (let i = 0; i < reloads; i++) {
          await server.reloadCertificates(i % 2 === 0 ? FILES2 : FILES);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        servedAfter = load.fresh;
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      assert.deepEqual(load.failures, []);
      assert.equal(load.retried, 0);
      assert.ok(load.fresh > servedAfter, "No request after the reloads");
      assert.ok(load.reused > 0, "The keep-alive client never reused");
      // An even number of reloads ends on the first pair.
      assert.equal(firstPem(await servedCert(port)), firstPem(CERT));
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});

Deno.test("reloadCertificates() under load keeps open connections and serves the new certificate to new ones", async () => {
  const server = start();
  const port = server.addr.port;
  try {
    assert.equal(firstPem(await servedCert(port)), firstPem(CERT));
    // A raw keep-alive connection opened on the old certificate.
    await using raw = await RawClient.tls(server);
    await raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.match(await raw.readResponse(), /^HTTP\/1\.1 200 /);
    let servedAfter = 0;
    // A connect dropped while a listener closes is retried where the kernel
    // does not migrate its queue; the other test covers that case.
    const load = await underLoad(port, HANDOVER !== "migrate", async (load) => {
      for (const files of [FILES2, FILES, FILES2, FILES, FILES2]) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await server.reloadCertificates(files);
      }
      servedAfter = load.fresh;
      assert.equal(firstPem(await servedCert(port)), firstPem(CERT2));
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    // The connection made before the reloads is still served.
    await raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.match(await raw.readResponse(), /^HTTP\/1\.1 200 [\s\S]* 1$/);
    assert.deepEqual(load.failures, []);
    assert.ok(load.fresh > servedAfter, "No request after the reloads");
    assert.ok(load.reused > 0, "The keep-alive client never reused");
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});
