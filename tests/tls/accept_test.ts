import assert from "node:assert/strict";
import {
  pendingHandshakeSockets,
  tlsAcceptAsync,
  tlsConnectAsync,
  TlsError,
  tlsListen,
  tlsWriteAllAsync,
} from "../../tls/mod.ts";
import { CA, CERT, KEY, proxy, serve, until } from "./_util.ts";

function listen(): { listener: Deno.TlsListener; port: number } {
  const listener = tlsListen({
    hostname: "127.0.0.1",
    port: 0,
    cert: CERT,
    key: KEY,
  });
  return { listener, port: (listener.addr as Deno.NetAddr).port };
}

Deno.test("tlsAcceptAsync() with an aborted signal closes the connection and rejects with the reason", async () => {
  const { listener, port } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const conn = await listener.accept();
    const reason = new Error("Shutting down");
    const before = pendingHandshakeSockets();
    await assert.rejects(
      tlsAcceptAsync(conn, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.deepEqual(pendingHandshakeSockets(), before);
    // The connection was closed (Deno 2.9.6 frees it once the peer sends):
    // the client gets an alert and the end, not a handshake.
    await client.write(new Uint8Array(16).fill(0xff));
    const buf = new Uint8Array(1024);
    let alert = 0;
    let n: number | null;
    while ((n = await client.read(buf).catch(() => null)) !== null) alert += n;
    assert.ok(alert <= 7, `Expected at most an alert, got ${alert} bytes`);
  } finally {
    client.close();
    listener.close();
  }
});

Deno.test("pendingHandshakeSockets() counts handshakes in progress and abandoned ones", async () => {
  const { listener, port } = listen();
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const conn = await listener.accept();
    const before = pendingHandshakeSockets();
    const ac = new AbortController();
    const reason = new Error("Load shedding");
    const p = tlsAcceptAsync(conn, { signal: ac.signal });
    assert.equal(pendingHandshakeSockets().pending, before.pending + 1);
    ac.abort(reason);
    await assert.rejects(p, (e) => e === reason);
    assert.deepEqual(pendingHandshakeSockets(), {
      pending: before.pending,
      abandoned: before.abandoned + 1,
    });
    // Deno 2.9.6 frees a socket closed mid-handshake only once the peer sends:
    // after our bytes the server side answers with an alert and the end.
    await silent.write(new Uint8Array(16).fill(0xff));
    const buf = new Uint8Array(1024);
    while (await silent.read(buf).catch(() => null) !== null) { /* alert */ }
  } finally {
    silent.close();
    listener.close();
  }
});

Deno.test("tlsAcceptAsync() rejects a bad timeout synchronously and closes nothing", async () => {
  const { listener, port } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await listener.accept();
  try {
    assert.throws(() => tlsAcceptAsync(conn, { timeoutMs: -1 }), RangeError);
    assert.throws(
      () => tlsAcceptAsync(conn, { timeoutMs: Infinity }),
      RangeError,
    );
  } finally {
    conn.close();
    client.close();
    listener.close();
  }
});

Deno.test('TlsStream.write() reports a peer reset as "reset"', async () => {
  let serverError: unknown;
  const server = serve(async (s) => {
    const big = new Uint8Array(1024 * 1024);
    try {
      // The proxy stops reading and then closes with unread data: an RST.
      for (let i = 0; i < 256; i++) {
        await tlsWriteAllAsync(s, big, { timeoutMs: 5000 });
      }
    } catch (e) {
      serverError = e;
    }
  });
  const p = proxy(server.port);
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: p.port,
    caCerts: [CA],
  });
  try {
    p.stopDownstream();
    await until(() => p.upstream() !== undefined, "the proxy");
    await new Promise((r) => setTimeout(r, 50));
    await p.cut();
    await until(() => serverError !== undefined, "the server's write to fail");
    assert.ok(serverError instanceof TlsError, String(serverError));
    assert.equal(serverError.code, "reset");
  } finally {
    stream.close();
    await server.close();
  }
});
