/**
 * TLS bulk throughput over loopback: our TlsStream (tlsWriteAllAsync /
 * tlsReadAsync) against raw Deno.TlsConn write/read, in the same run.
 *
 *   deno run --allow-net=127.0.0.1,localhost --allow-read=testdata --allow-env bench/tls_bench.ts
 *
 * Each variant moves TLS_BENCH_MIB (default 1024) MiB in 64 KiB writes over one
 * connection, client and server in this process (plus TlsStream.read/write
 * into a reused buffer, the timer-free path). The transfer is cut into
 * TLS_BENCH_SLICES (default 16) slices, and the variants take turns slice by
 * slice, so changes in machine load hit all of them alike; each figure is the
 * variant's total bytes over its total time.
 *
 * @module
 */
import {
  tlsAcceptAsync,
  tlsConnectAsync,
  tlsListen,
  tlsReadAsync,
  tlsWriteAllAsync,
} from "../tls/mod.ts";

const MIB = Number(Deno.env.get("TLS_BENCH_MIB") ?? "1024");
const SLICES = Number(Deno.env.get("TLS_BENCH_SLICES") ?? "16");
const CHUNK = 64 * 1024;
const SLICE = Math.max(
  CHUNK,
  Math.floor(MIB * 1024 * 1024 / SLICES / CHUNK) * CHUNK,
);

const td = (f: string): URL => new URL(`../testdata/${f}`, import.meta.url);
const cert = await Deno.readTextFile(td("localhost.pem"));
const key = await Deno.readTextFile(td("localhost.key"));
const ca = await Deno.readTextFile(td("ca.pem"));
const chunk = new Uint8Array(CHUNK).fill(0x5a);
const ACK = new Uint8Array([1]);

interface Variant {
  name: string;
  /** Sends one slice and waits for the server's acknowledgement. */
  slice(): Promise<void>;
  close(): Promise<void>;
}

async function rawWriteAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await conn.write(data.subarray(off));
}

/** Raw Deno.TlsConn on both ends. */
async function raw(): Promise<Variant> {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
  });
  const server = (async () => {
    const conn = await listener.accept();
    await conn.handshake();
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      let got = 0;
      while (got < SLICE) {
        const n = await conn.read(buf);
        if (n === null) return conn.close();
        got += n;
      }
      await rawWriteAll(conn, ACK);
    }
  })();
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: (listener.addr as Deno.NetAddr).port,
    caCerts: [ca],
  });
  await conn.handshake();
  const ack = new Uint8Array(1);
  return {
    name: "raw Deno.TlsConn write/read",
    async slice() {
      for (let sent = 0; sent < SLICE; sent += CHUNK) {
        await rawWriteAll(conn, chunk);
      }
      await conn.read(ack);
    },
    async close() {
      await conn.closeWrite();
      await server;
      conn.close();
      listener.close();
    },
  };
}

/**
 * TlsStream on both ends through tlsWriteAllAsync / tlsReadAsync, or (with
 * `method`) through TlsStream.write / read into a reused buffer, the timer-free
 * path a server with one deadline per connection uses.
 */
async function ours(
  timeoutMs: number | undefined,
  method = false,
): Promise<Variant> {
  const opts = timeoutMs === undefined ? undefined : { timeoutMs };
  const listener = tlsListen({ hostname: "127.0.0.1", port: 0, cert, key });
  const server = (async () => {
    const stream = await tlsAcceptAsync(await listener.accept());
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      let got = 0;
      while (got < SLICE) {
        if (method) {
          const n = await stream.read(buf);
          if (n === null) return stream.close();
          got += n;
          continue;
        }
        const data = await tlsReadAsync(stream, CHUNK, opts);
        if (data === null) return stream.close();
        got += data.byteLength;
      }
      await tlsWriteAllAsync(stream, ACK, opts);
    }
  })();
  const stream = await tlsConnectAsync({
    hostname: "localhost",
    port: (listener.addr as Deno.NetAddr).port,
    caCerts: [ca],
  });
  return {
    name: method
      ? "TlsStream.write/read (caller buffer)"
      : timeoutMs === undefined
      ? "tlsWriteAllAsync/tlsReadAsync"
      : "tlsWriteAllAsync/tlsReadAsync + timeoutMs",
    async slice() {
      for (let sent = 0; sent < SLICE; sent += CHUNK) {
        await tlsWriteAllAsync(stream, chunk, opts);
      }
      await tlsReadAsync(stream, 1, opts);
    },
    async close() {
      await stream.closeWrite();
      await server;
      stream.close();
      listener.close();
    },
  };
}

if (import.meta.main) {
  const variants = [
    await raw(),
    await ours(undefined),
    await ours(30_000),
    await ours(undefined, true),
  ];
  const ms = variants.map(() => 0);
  for (let s = 0; s < SLICES; s++) {
    // Rotate the order too, so no variant always runs right after another.
    for (let k = 0; k < variants.length; k++) {
      const i = (s + k) % variants.length;
      const start = performance.now();
      await variants[i]!.slice();
      ms[i]! += performance.now() - start;
    }
  }
  for (const v of variants) await v.close();
  const mbps = ms.map((t) => (SLICE * SLICES) / 1e6 / (t / 1000));
  console.log(
    `TLS bulk over loopback, ${
      (SLICE * SLICES) / 2 ** 20
    } MiB per variant in 64 KiB writes:`,
  );
  variants.forEach((v, i) => {
    const ratio = i === 0
      ? "(baseline)"
      : `ratio ${(mbps[i]! / mbps[0]!).toFixed(3)}x`;
    console.log(
      `  ${v.name.padEnd(42)} ${
        mbps[i]!.toFixed(0).padStart(6)
      } MB/s  ${ratio}`,
    );
  });
}
