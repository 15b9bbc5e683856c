import assert from "node:assert/strict";
import {
  tlsCloseAsync,
  tlsConnectAsync,
  TlsError,
  tlsReadAsync,
  tlsWriteAllAsync,
} from "../../tls/mod.ts";
import { CA, serve } from "./_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("TlsStream.closeWrite() sends close_notify both ways", async () => {
  let serverSawEnd = false;
  const server = serve(async (s) => {
    assert.equal(dec.decode((await tlsReadAsync(s, 10))!), "req");
    assert.equal(await tlsReadAsync(s, 10, { timeoutMs: 5000 }), null);
    serverSawEnd = true;
    await tlsWriteAllAsync(s, enc.encode("reply"));
    await s.closeWrite();
  });
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    await tlsWriteAllAsync(stream, enc.encode("req"));
    await stream.closeWrite();
    assert.equal(
      dec.decode((await tlsReadAsync(stream, 10, { timeoutMs: 5000 }))!),
      "reply",
    );
    assert.equal(await tlsReadAsync(stream, 10, { timeoutMs: 5000 }), null);
  } finally {
    stream.close();
    await server.close();
  }
  assert.equal(serverSawEnd, true);
  assert.deepEqual(server.errors, []);
});

Deno.test("tlsCloseAsync() waits for the peer's close_notify and is idempotent", async () => {
  let serverRead: unknown = "unset";
  const server = serve(async (s) => {
    serverRead = await tlsReadAsync(s, 10, { timeoutMs: 5000 });
    await tlsCloseAsync(s);
    assert.equal(s.closed, true);
  });
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    await tlsCloseAsync(stream, { timeoutMs: 5000 });
    assert.equal(stream.closed, true);
    await tlsCloseAsync(stream);
    stream.close();
    await assert.rejects(
      tlsReadAsync(stream, 1),
      (e) => e instanceof TlsError && e.code === "closed",
    );
  } finally {
    await server.close();
  }
  // The server saw a clean end of stream (close_notify), not a truncation.
  assert.equal(serverRead, null);
  assert.deepEqual(server.errors, []);
});

Deno.test("tlsCloseAsync() releases the connection when the peer never answers", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = serve(async () => await released);
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    await tlsCloseAsync(stream, { timeoutMs: 50 });
    assert.equal(stream.closed, true);
  } finally {
    release();
    await server.close();
  }
});

Deno.test("tlsCloseAsync() after a timed-out read settles the kept read", async () => {
  const server = serve(async (s) => {
    await tlsReadAsync(s, 10, { timeoutMs: 5000 });
  });
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    await assert.rejects(
      tlsReadAsync(stream, 10, { timeoutMs: 10 }),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
    // The sanitizer fails this test if the kept read outlives the close.
    await tlsCloseAsync(stream, { timeoutMs: 2000 });
  } finally {
    await server.close();
  }
});

Deno.test("TlsStream[Symbol.asyncDispose]() closes the stream", async () => {
  const server = serve(async (s) => {
    await tlsReadAsync(s, 10, { timeoutMs: 5000 }).catch(() => null);
  });
  let escaped;
  {
    await using stream = await tlsConnectAsync({
      hostname: "localhost",
      port: server.port,
      caCerts: [CA],
    });
    escaped = stream;
    assert.equal(stream.closed, false);
  }
  assert.equal(escaped.closed, true);
  await server.close();
});
