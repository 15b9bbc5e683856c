import {
  tlsAcceptAsync,
  type TlsAcceptOptions,
  tlsListen,
  type TlsStream,
} from "../../tls/mod.ts";

const td = (name: string): URL =>
  new URL(`../../testdata/${name}`, import.meta.url);
export const pem = (name: string): Promise<string> =>
  Deno.readTextFile(td(name));

export const CERT = await pem("localhost.pem");
export const KEY = await pem("localhost.key");
export const CA = await pem("ca.pem");

export interface TestServer {
  port: number;
  /** Errors thrown by tlsAcceptAsync or the handler, in order. */
  errors: unknown[];
  /** Stops accepting and waits for every connection task. */
  close(): Promise<void>;
}

/**
 * A TLS server on 127.0.0.1:0 built on tlsListen + tlsAcceptAsync; each
 * connection runs `handler` without blocking the accept loop.
 */
export function serve(
  handler: (stream: TlsStream) => Promise<void>,
  options: {
    cert?: string;
    key?: string;
    alpnProtocols?: string[];
    accept?: TlsAcceptOptions;
  } = {},
): TestServer {
  const listenOptions: Parameters<typeof tlsListen>[0] = {
    hostname: "127.0.0.1",
    port: 0,
    cert: options.cert ?? CERT,
    key: options.key ?? KEY,
  };
  if (options.alpnProtocols) {
    listenOptions.alpnProtocols = options.alpnProtocols;
  }
  const listener = tlsListen(listenOptions);
  const tasks = new Set<Promise<void>>();
  const errors: unknown[] = [];
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const t: Promise<void> = tlsAcceptAsync(
          conn,
          options.accept ?? { timeoutMs: 5000 },
        )
          .then(async (stream) => {
            try {
              await handler(stream);
            } finally {
              await stream[Symbol.asyncDispose]();
            }
          })
          .catch((e) => {
            errors.push(e);
          })
          .finally(() => tasks.delete(t));
        tasks.add(t);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource)) throw e;
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    errors,
    async close() {
      listener.close();
      await loop;
      await Promise.all([...tasks]);
    },
  };
}

/** Resolves once `cond()` is true, polling every few ms (for real I/O only). */
export async function until(
  cond: () => boolean,
  what: string,
  limitMs = 5000,
): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A payload that differs per client index, so mixed-up streams are detected. */
export function payload(i: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (i + 1) * 2654435761 >>> 0;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[j] = x >>> 24;
  }
  return out;
}

export interface Proxy {
  port: number;
  /** The proxy's connection to the server, once a client came through. */
  upstream(): Deno.TcpConn | undefined;
  /** Stops forwarding server bytes to the client (they pile up unread). */
  stopDownstream(): void;
  /** Closes both sides abruptly (no TLS close_notify) and waits for the pumps. */
  cut(): Promise<void>;
}

/** A TCP proxy for one client to 127.0.0.1:`target`, to cut connections below TLS. */
export function proxy(target: number): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let up: Deno.TcpConn | undefined;
  let down: Deno.TcpConn | undefined;
  let downstream = true;
  const pumps: Promise<void>[] = [];
  const pump = async (
    from: Deno.Conn,
    to: Deno.Conn,
    on: () => boolean,
  ): Promise<void> => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (on()) {
        const n = await from.read(buf);
        if (n === null || !on()) break;
        await to.write(buf.subarray(0, n));
      }
    } catch {
      // The cut closes these sockets under the pump; nothing to report.
    }
  };
  const ready = (async () => {
    down = await listener.accept();
    up = await Deno.connect({ hostname: "127.0.0.1", port: target });
    pumps.push(pump(down, up, () => true), pump(up, down, () => downstream));
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    upstream: () => up,
    stopDownstream() {
      downstream = false;
    },
    async cut() {
      await ready;
      listener.close();
      up!.close();
      down!.close();
      await Promise.all(pumps);
    },
  };
}
