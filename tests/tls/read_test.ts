import assert from "node:assert/strict";
import {
  tlsCloseAsync,
  tlsConnectAsync,
  TlsError,
  tlsReadAsync,
  tlsReadAsyncTimeout,
  type TlsStream,
  tlsWriteAllAsync,
} from "../../tls/mod.ts";
import { CA, payload, proxy, serve, until } from "./_util.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Server: waits for "go", then sends "abcdef" in two writes and closes cleanly. */
function lateSender(): ReturnType<typeof serve> {
  return serve(async (s) => {
    const buf = new Uint8Array(2);
    assert.equal(await s.read(buf), 2);
    await s.write(enc.encode("abc"));
    await s.write(enc.encode("def"));
    await tlsCloseAsync(s);
  });
}

async function rest(stream: TlsStream, max: number): Promise<string> {
  let out = "";
  let chunk;
  while (
    (chunk = await tlsReadAsync(stream, max, { timeoutMs: 5000 })) !== null
  ) {
    out += dec.decode(chunk);
  }
  return out;
}

Deno.test("tlsReadAsyncTimeout() keeps bytes that arrive after the timeout", async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    await assert.rejects(
      tlsReadAsyncTimeout(stream, 100, 20),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
    assert.equal(stream.closed, false);
    await stream.write(enc.encode("go"));
    // Small reads: the kept read's excess comes out in order.
    assert.equal(dec.decode((await tlsReadAsync(stream, 2))!), "ab");
    assert.equal(await rest(stream, 2), "cdef");
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
  assert.deepEqual(server.errors, []);
});

Deno.test("TlsStream.read() delivers the bytes of a cancelled read into the caller's buffer", async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    const ac = new AbortController();
    const reason = new Error("Not now");
    const buf = new Uint8Array(64);
    const p = stream.read(buf, { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(p, (e) => e === reason);
    await stream.write(enc.encode("go"));
    const small = new Uint8Array(1);
    assert.equal(await stream.read(small), 1);
    assert.equal(dec.decode(small), "a");
    assert.equal(await rest(stream, 64), "bcdef");
    assert.equal(
      buf[0],
      0,
      "The cancelled read must not write into the caller's buffer",
    );
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
});

Deno.test("tlsReadAsync() with an aborted signal rejects with its reason before reading", async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    const reason = new Error("Already gone");
    await assert.rejects(
      tlsReadAsync(stream, 10, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    // No read was started: an untimed read (which would be busy otherwise) works.
    await stream.write(enc.encode("go"));
    assert.equal(await rest(stream, 10), "abcdef");
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
});

Deno.test('tlsReadAsync() rejects a second concurrent read with code "busy"', async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    const first = tlsReadAsync(stream, 10);
    await assert.rejects(
      tlsReadAsync(stream, 10),
      (e) => e instanceof TlsError && e.code === "busy",
    );
    await assert.rejects(
      tlsReadAsync(stream, 10, { timeoutMs: 1000 }),
      (e) => e instanceof TlsError && e.code === "busy",
    );
    await stream.write(enc.encode("go"));
    const chunk = (await first)!;
    const head = dec.decode(chunk);
    assert.equal(head.startsWith("abc"), true);
    // The refused reads took nothing: the rest follows in order, and the
    // first chunk's memory is left alone.
    assert.equal(head + await rest(stream, 10), "abcdef");
    assert.equal(dec.decode(chunk), head);
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
});

Deno.test("tlsReadAsync() rejects bad arguments synchronously", async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    assert.throws(() => tlsReadAsync(stream, 0), RangeError);
    assert.throws(() => tlsReadAsync(stream, 1.5), RangeError);
    assert.throws(
      () => tlsReadAsync(stream, 10, { timeoutMs: -1 }),
      RangeError,
    );
    assert.throws(
      () => tlsReadAsyncTimeout(stream, 10, Number.NaN),
      RangeError,
    );
    assert.throws(
      () => stream.read(new Uint8Array(1), { timeoutMs: Infinity }),
      RangeError,
    );
  } finally {
    await stream.write(enc.encode("go"));
    await tlsCloseAsync(stream);
    await server.close();
  }
});

Deno.test('tlsReadAsync() reports an end of stream without close_notify as "truncated"', async () => {
  let serverError: unknown;
  const server = serve(async (s) => {
    await s.write(enc.encode("hi"));
    serverError = await tlsReadAsync(s, 10, { timeoutMs: 5000 }).catch((e) =>
      e
    );
  });
  const p = proxy(server.port);
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: p.port,
    caCerts: [CA],
  });
  try {
    assert.equal(dec.decode((await tlsReadAsync(stream, 10))!), "hi");
    await p.cut();
    await until(() => serverError !== undefined, "the server's read to fail");
    assert.ok(serverError instanceof TlsError, String(serverError));
    assert.equal(serverError.code, "truncated");
  } finally {
    stream.close();
    await server.close();
  }
});

Deno.test('tlsReadAsync() after close rejects with code "closed"', async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  await stream.write(enc.encode("go"));
  await tlsCloseAsync(stream);
  await server.close();
  await assert.rejects(
    tlsReadAsync(stream, 10),
    (e) => e instanceof TlsError && e.code === "closed",
  );
  await assert.rejects(
    stream.write(enc.encode("x")),
    (e) => e instanceof TlsError && e.code === "closed",
  );
});

Deno.test("tlsReadAsync() chunks kept by the caller are never overwritten by later reads", async () => {
  const data = payload(7, 3 * 1024 * 1024 + 123);
  const server = serve(async (s) => {
    await tlsWriteAllAsync(s, data, { timeoutMs: 10_000 });
    await tlsCloseAsync(s);
  });
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    const chunks: Uint8Array[] = [];
    let chunk;
    // Alternate untimed, timed and tiny reads so slab offsets vary.
    for (
      let i = 0;
      (chunk = await tlsReadAsync(
        stream,
        i % 3 === 2 ? 1000 : 65536,
        i % 2 ? { timeoutMs: 5000 } : undefined,
      )) !== null;
      i++
    ) {
      assert.ok(chunk.byteLength <= 16 * 1024);
      chunks.push(chunk);
    }
    const got = new Uint8Array(data.byteLength);
    let off = 0;
    for (const c of chunks) {
      got.set(c, off);
      off += c.byteLength;
    }
    assert.equal(off, data.byteLength);
    assert.deepEqual(got, data);
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
});

Deno.test("tlsReadAsync() with a buffer returns views of it and still loses nothing after a timeout", async () => {
  const server = lateSender();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: server.port,
    caCerts: [CA],
  });
  try {
    const buffer = new Uint8Array(4);
    await assert.rejects(
      tlsReadAsync(stream, 100, { buffer, timeoutMs: 20 }),
      (e) => e instanceof DOMException && e.name === "TimeoutError",
    );
    await stream.write(enc.encode("go"));
    let out = "";
    let chunk;
    while (
      (chunk = await tlsReadAsync(stream, 3, { buffer, timeoutMs: 5000 })) !==
        null
    ) {
      assert.equal(chunk.buffer, buffer.buffer);
      assert.ok(chunk.byteLength <= 3);
      out += dec.decode(chunk);
    }
    assert.equal(out, "abcdef");
    assert.throws(
      () => tlsReadAsync(stream, 1, { buffer: new Uint8Array(0) }),
      RangeError,
    );
  } finally {
    await tlsCloseAsync(stream);
    await server.close();
  }
  assert.deepEqual(server.errors, []);
});
