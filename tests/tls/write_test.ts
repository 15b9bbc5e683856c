import assert from "node:assert/strict";
import {
  tlsCloseAsync,
  tlsConnectAsync,
  TlsError,
  type TlsStream,
  tlsWriteAllAsync,
  tlsWriteAllAsyncTimeout,
  tlsWriteAsync,
  tlsWriteAsyncTimeout,
} from "../../tls/mod.ts";
import { CA, payload, serve } from "./_util.ts";

/** A server whose handler waits until released, never reading meanwhile. */
function stalledServer(): {
  server: ReturnType<typeof serve>;
  release: () => void;
} {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = serve(async (s) => {
    await released;
    s.close();
  });
  return { server, release };
}

async function connect(port: number): Promise<TlsStream> {
  return await tlsConnectAsync({ hostname: "localhost", port, caCerts: [CA] });
}

Deno.test("tlsWriteAllAsyncTimeout() closes the stream when a peer stops reading", async () => {
  const { server, release } = stalledServer();
  const stream = await connect(server.port);
  try {
    // Far more than the socket buffers hold, so the write must stall.
    await assert.rejects(
      tlsWriteAllAsyncTimeout(stream, new Uint8Array(64 * 1024 * 1024), 100),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
    assert.equal(stream.closed, true);
    await assert.rejects(
      tlsWriteAsync(stream, new Uint8Array(1)),
      (e) => e instanceof TlsError && e.code === "closed",
    );
  } finally {
    release();
    stream.close();
    await server.close();
  }
});

Deno.test("tlsWriteAllAsync() cancelled mid-write rejects with the reason and closes", async () => {
  const { server, release } = stalledServer();
  const stream = await connect(server.port);
  try {
    const ac = new AbortController();
    const reason = new Error("Client gave up");
    const p = tlsWriteAllAsync(stream, new Uint8Array(64 * 1024 * 1024), {
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(reason), 30);
    await assert.rejects(p, (e) => e === reason);
    assert.equal(stream.closed, true);
    await assert.rejects(
      tlsWriteAllAsync(stream, new Uint8Array(1)),
      (e) => e instanceof TlsError && e.code === "closed",
    );
  } finally {
    release();
    await server.close();
  }
});

Deno.test("tlsWriteAsync() with an aborted signal rejects before writing and keeps the stream", async () => {
  let got: Uint8Array | null = null;
  const server = serve(async (s) => {
    const buf = new Uint8Array(16);
    const n = await s.read(buf);
    got = n === null ? null : buf.slice(0, n);
  });
  const stream = await connect(server.port);
  try {
    const reason = new Error("Stop");
    await assert.rejects(
      tlsWriteAsync(stream, payload(0, 8), {
        signal: AbortSignal.abort(reason),
      }),
      (e) => e === reason,
    );
    assert.equal(stream.closed, false);
    assert.equal(
      await tlsWriteAsyncTimeout(stream, new Uint8Array([7]), 5000),
      1,
    );
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
  assert.deepEqual(got, new Uint8Array([7]));
});

Deno.test('TlsStream.write() rejects a second concurrent write with code "busy"', async () => {
  const { server, release } = stalledServer();
  const stream = await connect(server.port);
  try {
    const first = tlsWriteAllAsync(stream, new Uint8Array(64 * 1024 * 1024), {
      timeoutMs: 200,
    });
    await assert.rejects(
      stream.write(new Uint8Array(1)),
      (e) => e instanceof TlsError && e.code === "busy",
    );
    await assert.rejects(
      first,
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
  } finally {
    release();
    stream.close();
    await server.close();
  }
});

Deno.test("tlsWriteAsync() rejects a bad timeout synchronously", async () => {
  const { server, release } = stalledServer();
  const stream = await connect(server.port);
  try {
    assert.throws(
      () => tlsWriteAsync(stream, new Uint8Array(1), { timeoutMs: -5 }),
      RangeError,
    );
    assert.throws(
      () => tlsWriteAllAsyncTimeout(stream, new Uint8Array(1), NaN),
      RangeError,
    );
  } finally {
    release();
    stream.close();
    await server.close();
  }
});
