import assert from "node:assert/strict";
import {
  tlsCloseAsync,
  tlsConnectAsync,
  TlsError,
  tlsReadAsync,
  type TlsStream,
  tlsWriteAllAsync,
} from "../../tls/mod.ts";
import { CA, payload, serve, until } from "./_util.ts";

async function echo(stream: TlsStream): Promise<void> {
  let chunk;
  while (
    (chunk = await tlsReadAsync(stream, 16 * 1024, { timeoutMs: 10_000 })) !==
      null
  ) {
    await tlsWriteAllAsync(stream, chunk, { timeoutMs: 10_000 });
  }
  await tlsCloseAsync(stream, { timeoutMs: 1000 });
}

async function readExactly(
  stream: TlsStream,
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const chunk = await tlsReadAsync(stream, size - off, { timeoutMs: 10_000 });
    assert.notEqual(chunk, null, `Stream ended after ${off} of ${size} bytes`);
    out.set(chunk!, off);
    off += chunk!.byteLength;
  }
  return out;
}

Deno.test("tlsAcceptAsync() echo server serves 100 concurrent clients their own payloads", async () => {
  const server = serve(echo);
  try {
    const clients = Array.from({ length: 100 }, async (_, i) => {
      const size = 2048 + i * 61; // distinct multi-kilobyte payloads
      const data = payload(i, size);
      const stream = await tlsConnectAsync({
        hostname: "localhost",
        port: server.port,
        caCerts: [CA],
        timeoutMs: 20_000,
      });
      try {
        await Promise.all([
          tlsWriteAllAsync(stream, data, { timeoutMs: 20_000 }),
          readExactly(stream, size).then((got) => assert.deepEqual(got, data)),
        ]);
        await stream.closeWrite();
        assert.equal(
          await tlsReadAsync(stream, 16, { timeoutMs: 10_000 }),
          null,
        );
      } finally {
        await tlsCloseAsync(stream);
      }
    });
    await Promise.all(clients);
  } finally {
    await server.close();
  }
  assert.deepEqual(server.errors, []);
});

Deno.test("tlsAcceptAsync() times out a silent client while serving others", async () => {
  const server = serve(echo, { accept: { timeoutMs: 150 } });
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  try {
    // Others are served while the silent client's handshake is outstanding.
    for (let i = 0; i < 3; i++) {
      const stream = await tlsConnectAsync({
        hostname: "localhost",
        port: server.port,
        caCerts: [CA],
      });
      await tlsWriteAllAsync(stream, payload(i, 3000));
      assert.deepEqual(await readExactly(stream, 3000), payload(i, 3000));
      await tlsCloseAsync(stream);
    }
    await until(() => server.errors.length === 1, "the handshake timeout");
    const [e] = server.errors;
    assert.ok(
      e instanceof DOMException && e.name === "TimeoutError",
      String(e),
    );
    // The silent client's connection is closed: Deno 2.9.6 releases it once
    // the client sends, and the client then reads an alert and the end.
    await silent.write(new Uint8Array(16).fill(0xff));
    const buf = new Uint8Array(1024);
    let got = 0;
    let n: number | null;
    while ((n = await silent.read(buf).catch(() => null)) !== null) got += n;
    assert.ok(got <= 7, `Expected at most an alert, got ${got} bytes`);
  } finally {
    silent.close();
    await server.close();
  }
});

for (
  const [name, bytes] of [
    [
      "plaintext HTTP",
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ],
    [
      "garbage",
      Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff),
    ],
  ] as const
) {
  Deno.test(`tlsAcceptAsync() rejects ${name} with a handshake TlsError and keeps serving`, async () => {
    const server = serve(echo);
    try {
      const raw = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await raw.write(bytes);
      // The server answers with an alert and closes; drain until it does.
      const buf = new Uint8Array(1024);
      while (await raw.read(buf).catch(() => null) !== null) {
        /* alert bytes */
      }
      raw.close();
      await until(() => server.errors.length === 1, "the handshake failure");
      const [e] = server.errors;
      assert.ok(e instanceof TlsError, String(e));
      assert.equal(e.code, "handshake");

      const stream = await tlsConnectAsync({
        hostname: "localhost",
        port: server.port,
        caCerts: [CA],
      });
      await tlsWriteAllAsync(stream, payload(1, 2000));
      assert.deepEqual(await readExactly(stream, 2000), payload(1, 2000));
      await tlsCloseAsync(stream);
    } finally {
      await server.close();
    }
  });
}
