/**
 * TLS bulk throughput over loopback: our TlsStream (tlsWriteAllAsync /
 * tlsReadAsync) against raw Deno.TlsConn write/read, in the same run.
 *
 *   deno run --allow-net=127.0.0.1,localhost --allow-read=testdata --allow-env bench/tls_bench.ts
 *
 * Each variant moves TLS_BENCH_MIB (default 1024) MiB in 64 KiB writes over one
 * connection, client and server in this process. Besides the baseline (raw
 * write/read into one reused buffer) and ours, two reference lines: raw reads
 * into fresh 64 KiB slabs (the least a reader that hands out memory the caller
 * owns must do, as tlsReadAsync does), and TlsStream.read/write into a reused
 * buffer (the timer-free path).
 *
 * The transfer is cut into TLS_BENCH_SLICES (default 32) slices; in each round
 * every variant sends one slice, in a freshly shuffled order, so load changes
 * and the garbage one variant leaves for the next GC hit all of them alike.
 * Each figure is the variant's total bytes over its total time; the ratio in
 * brackets is the median of the per-round ratios, which a burst of load on the
 * shared machine moves less.
 *
 * @module
 */
import {
  tlsAcceptAsync,
  tlsListen,
  tlsReadAsync,
  tlsStartAsync,
  tlsWriteAllAsync,
} from "../tls/mod.ts";

const MIB = Number(Deno.env.get("TLS_BENCH_MIB") ?? "1024");
const SLICES = Number(Deno.env.get("TLS_BENCH_SLICES") ?? "32");
const CHUNK = 64 * 1024;
const RECORD = 16 * 1024;
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

/**
 * The client's TCP socket, with Nagle off: otherwise the tail of a slice can
 * wait for a delayed ACK (up to 40 ms) before the server sees it, a stall that
 * hits variants at random. (A TlsConn has no setNoDelay, hence startTls.)
 */
async function tcpClient(listener: Deno.TlsListener): Promise<Deno.TcpConn> {
  const tcp = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  tcp.setNoDelay(true);
  return tcp;
}

async function rawWriteAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await conn.write(data.subarray(off));
}

/**
 * Raw Deno.TlsConn on both ends. With `fresh`, the server reads into fresh
 * 64 KiB slabs, 16 KiB (one TLS record, all Deno returns per read) at a time.
 */
async function raw(fresh = false): Promise<Variant> {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
  });
  const server = (async () => {
    const conn = await listener.accept();
    await conn.handshake();
    let buf = new Uint8Array(CHUNK);
    let off = 0;
    for (;;) {
      let got = 0;
      while (got < SLICE) {
        let n: number | null;
        if (fresh) {
          if (off + RECORD > CHUNK) {
            buf = new Uint8Array(CHUNK);
            off = 0;
          }
          n = await conn.read(buf.subarray(off, off + RECORD));
          if (n !== null) off += n;
        } else {
          n = await conn.read(buf);
        }
        if (n === null) return conn.close();
        got += n;
      }
      await rawWriteAll(conn, ACK);
    }
  })();
  const conn = await Deno.startTls(await tcpClient(listener), {
    hostname: "localhost",
    caCerts: [ca],
  });
  await conn.handshake();
  const ack = new Uint8Array(1);
  return {
    name: fresh
      ? "raw write/read into fresh slabs (ref.)"
      : "raw Deno.TlsConn write/read",
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
  reuse = false,
): Promise<Variant> {
  const opts = timeoutMs === undefined ? undefined : { timeoutMs };
  const readBuffer = new Uint8Array(CHUNK);
  const readOpts = reuse ? { ...opts, buffer: readBuffer } : opts;
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
        const data = await tlsReadAsync(stream, CHUNK, readOpts);
        if (data === null) return stream.close();
        got += data.byteLength;
      }
      await tlsWriteAllAsync(stream, ACK, opts);
    }
  })();
  const stream = await tlsStartAsync(await tcpClient(listener), {
    hostname: "localhost",
    caCerts: [ca],
  });
  return {
    name: method
      ? "TlsStream.write/read, reused buf (ref.)"
      : reuse
      ? "tlsWriteAllAsync/tlsReadAsync { buffer }"
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
    await ours(undefined, false, true),
    await ours(30_000),
    await raw(true),
    await ours(undefined, true),
  ];
  const ms = variants.map(() => 0);
  const ratios: number[][] = variants.map(() => []);
  // A fixed seed keeps runs comparable; the order changes every round.
  let seed = 0x9e3779b9;
  const random = (): number =>
    (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let s = 0; s < SLICES; s++) {
    const order = variants.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const round = variants.map(() => 0);
    for (const i of order) {
      const start = performance.now();
      await variants[i]!.slice();
      round[i] = performance.now() - start;
      ms[i]! += round[i]!;
    }
    round.forEach((t, i) => ratios[i]!.push(round[0]! / t));
  }
  for (const v of variants) await v.close();
  const median = (xs: number[]): number => {
    const a = [...xs].sort((x, y) => x - y);
    const m = a.length >> 1;
    return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  };
  const mbps = ms.map((t) => (SLICE * SLICES) / 1e6 / (t / 1000));
  console.log(
    `TLS bulk over loopback, ${
      (SLICE * SLICES) / 2 ** 20
    } MiB per variant in 64 KiB writes, ${SLICES} rounds:`,
  );
  variants.forEach((v, i) => {
    const ratio = i === 0
      ? "(baseline)"
      : `ratio ${(mbps[i]! / mbps[0]!).toFixed(3)}x (median per round ${
        median(ratios[i]!).toFixed(3)
      }x)`;
    console.log(
      `  ${v.name.padEnd(42)} ${
        mbps[i]!.toFixed(0).padStart(6)
      } MB/s  ${ratio}`,
    );
  });
}
