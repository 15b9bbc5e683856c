// Shared helpers of the server tests: start a server on 127.0.0.1:0, talk to
// it with raw bytes over TLS (tlsConnectAsync) or TCP.

import {
  type HttpServeHandler,
  httpServeOpts,
  type HttpServer,
  type HttpServerOptions,
  httpServeTlsOpts,
} from "../../http/mod.ts";
import { tlsConnectAsync, type TlsStream } from "../../tls/mod.ts";

export const CERT = await Deno.readTextFile("testdata/localhost.pem");
export const KEY = await Deno.readTextFile("testdata/localhost.key");
export const CA = await Deno.readTextFile("testdata/ca.pem");

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts an HTTPS server on a free loopback port. */
export function startTls(
  handler: HttpServeHandler,
  options: HttpServerOptions = {},
  handshakeTimeoutMs?: number,
): HttpServer {
  return httpServeTlsOpts(
    { hostname: "127.0.0.1", port: 0, ...options },
    handshakeTimeoutMs === undefined
      ? { cert: CERT, key: KEY }
      : { cert: CERT, key: KEY, handshakeTimeoutMs },
    handler,
  );
}

/** Starts a plain-TCP server on a free loopback port. */
export function startTcp(
  handler: HttpServeHandler,
  options: HttpServerOptions = {},
): HttpServer {
  return httpServeOpts({ hostname: "127.0.0.1", port: 0, ...options }, handler);
}

/** The byte-stream shape both TlsStream and Deno.TcpConn have. */
export interface Wire {
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
}

/** A raw client connection. */
export class RawClient implements AsyncDisposable {
  #wire: Wire;
  #text = "";
  #eof = false;

  constructor(wire: Wire) {
    this.#wire = wire;
  }

  static async tls(server: HttpServer): Promise<RawClient> {
    const stream: TlsStream = await tlsConnectAsync({
      hostname: "localhost",
      port: server.addr.port,
      caCerts: [CA],
      timeoutMs: 5_000,
    });
    return new RawClient(stream);
  }

  static async tcp(server: HttpServer): Promise<RawClient> {
    return new RawClient(
      await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    );
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let off = 0;
    while (off < bytes.length) {
      off += await this.#wire.write(bytes.subarray(off));
    }
  }

  /** Everything received until the server closes. */
  async readToEnd(): Promise<string> {
    while (await this.#fill());
    const text = this.#text;
    this.#text = "";
    return text;
  }

  /** Reads until `pattern` has been seen `count` times; returns what was read. */
  async readUntil(pattern: string, count = 1): Promise<string> {
    for (;;) {
      if (occurrences(this.#text, pattern) >= count) {
        const text = this.#text;
        this.#text = "";
        return text;
      }
      if (!(await this.#fill())) {
        throw new Error(
          `Connection ended before ${count}x ${JSON.stringify(pattern)}: ${
            JSON.stringify(this.#text)
          }`,
        );
      }
    }
  }

  /** One complete response with a Content-Length (or none). */
  async readResponse(): Promise<string> {
    await this.readUntilRaw("\r\n\r\n");
    const headEnd = this.#text.indexOf("\r\n\r\n") + 4;
    const m = /content-length: (\d+)/i.exec(this.#text.slice(0, headEnd));
    const length = m ? Number(m[1]) : 0;
    while (this.#text.length < headEnd + length) {
      if (!(await this.#fill())) break;
    }
    const res = this.#text.slice(0, headEnd + length);
    this.#text = this.#text.slice(headEnd + length);
    return res;
  }

  async readUntilRaw(pattern: string): Promise<void> {
    while (!this.#text.includes(pattern)) {
      if (!(await this.#fill())) {
        throw new Error(`Connection ended: ${JSON.stringify(this.#text)}`);
      }
    }
  }

  get eof(): boolean {
    return this.#eof;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const buf = new Uint8Array(65_536);
    let n: number | null;
    try {
      n = await this.#wire.read(buf);
    } catch (error) {
      // A reset after the server's close counts as the end of the stream.
      if (
        error instanceof Deno.errors.ConnectionReset ||
        (error instanceof Error && error.name === "TlsError")
      ) n = null;
      else throw error;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#text += decoder.decode(buf.subarray(0, n), { stream: true });
    return true;
  }

  close(): void {
    try {
      this.#wire.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function occurrences(text: string, pattern: string): number {
  let count = 0;
  let at = text.indexOf(pattern);
  while (at !== -1) {
    count++;
    at = text.indexOf(pattern, at + pattern.length);
  }
  return count;
}

/** The status codes of every response in `text`, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A fetch client trusting the test CA; close it when done. */
export function fetchClient(): Deno.HttpClient {
  return Deno.createHttpClient({ caCerts: [CA] });
}

/** Runs curl against the server; returns stdout and the exit code. */
export async function curl(
  args: string[],
  stdin?: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = new Deno.Command("curl", {
    args: ["-s", "--cacert", "testdata/ca.pem", ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  return {
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    code: out.code,
  };
}

/**
 * `tool --version`'s output (or `flag`'s), or null when the tool is not installed or
 * `--allow-run` does not name it (the caller skips its test and says why).
 */
export async function toolVersion(
  tool: string,
  flag = "--version",
): Promise<string | null> {
  try {
    const out = await new Deno.Command(tool, {
      args: [flag],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? decoder.decode(out.stdout).trim() : null;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotCapable
    ) return null;
    throw error;
  }
}
