import assert from "node:assert/strict";
import {
  tlsCloseAsync,
  TlsError,
  tlsReadAsync,
  tlsStartAsync,
  tlsWriteAllAsync,
} from "../../tls/mod.ts";
import { CA, serve } from "./_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Deno has no server-side STARTTLS, so the server is a TLS listener and the
// client upgrades its plain TCP connection with tlsStartAsync.
Deno.test("tlsStartAsync() upgrades a TCP connection and negotiates ALPN", async () => {
  const server = serve(async (s) => {
    const chunk = await tlsReadAsync(s, 64, { timeoutMs: 5000 });
    await tlsWriteAllAsync(
      s,
      enc.encode(`${s.alpnProtocol}:${dec.decode(chunk!)}`),
    );
    await tlsCloseAsync(s);
  }, { alpnProtocols: ["smtp", "imap"] });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const stream = await tlsStartAsync(tcp, {
    hostname: "localhost",
    caCerts: [CA],
    alpnProtocols: ["imap"],
    timeoutMs: 5000,
  });
  try {
    assert.equal(stream.alpnProtocol, "imap");
    await tlsWriteAllAsync(stream, enc.encode("hello"));
    assert.equal(
      dec.decode((await tlsReadAsync(stream, 64, { timeoutMs: 5000 }))!),
      "imap:hello",
    );
    assert.equal(await tlsReadAsync(stream, 64, { timeoutMs: 5000 }), null);
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
  assert.deepEqual(server.errors, []);
});

Deno.test('tlsStartAsync() refuses a wrong host with code "certificate" and closes the socket', async () => {
  const server = serve(() => Promise.resolve());
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await assert.rejects(
      tlsStartAsync(tcp, { hostname: "other.invalid", caCerts: [CA] }),
      (e) => e instanceof TlsError && e.code === "certificate",
    );
  } finally {
    await server.close();
  }
});

Deno.test("tlsStartAsync() times out a silent server, and an aborted signal closes the TCP connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const loop = (async () => {
    for await (const c of listener) held.push(c);
  })().catch(() => {});
  try {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    await assert.rejects(
      tlsStartAsync(tcp, { hostname: "localhost", timeoutMs: 30 }),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
    const reason = new Error("Never mind");
    const tcp2 = await Deno.connect({ hostname: "127.0.0.1", port });
    await assert.rejects(
      tlsStartAsync(tcp2, {
        hostname: "localhost",
        signal: AbortSignal.abort(reason),
      }),
      (e) => e === reason,
    );
    // tcp2 was closed before any TLS byte: the server reads a plain EOF.
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await held[1]!.read(new Uint8Array(10)), null);
    // tcp (mid-handshake) is released once the server sends a record.
    await held[0]!.write(new Uint8Array(16).fill(0xff));
    const buf = new Uint8Array(4096);
    while (await held[0]!.read(buf).catch(() => null) !== null) { /* alert */ }
  } finally {
    listener.close();
    await loop;
    for (const c of held) c.close();
  }
});

const canSpawnDeno = Deno.build.os === "linux" &&
  Deno.permissions.querySync({ name: "run", command: "deno" }).state ===
    "granted";

Deno.test({
  name: "tlsStartAsync() leaks no file descriptor after close",
  // Needs --allow-run=deno (the task "test" in deno.json grants it).
  ignore: !canSpawnDeno,
  async fn() {
    const probe = new URL("./_fd_probe.ts", import.meta.url);
    const out = await new Deno.Command("deno", {
      args: ["run", "--allow-all", "--quiet", probe.href, "100"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, err);
    const [before, after] = new TextDecoder().decode(out.stdout).trim().split(
      " ",
    ).map(Number);
    // 100 upgrades: a per-upgrade leak would add ~100.
    assert.ok(
      after! - before! < 10,
      `Descriptors grew from ${before} to ${after}`,
    );
  },
});
