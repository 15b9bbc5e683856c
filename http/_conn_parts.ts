// Small pieces of a connection: the transport shape, the handler info and
// error classification.

import type { HttpServeHandlerInfo } from "./options.ts";

/** The byte-stream shape shared by TlsStream and Deno.TcpConn. */
export interface Transport {
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** The methods named in `Allow` when nothing more specific is known. */
export const DEFAULT_ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/** What {@linkcode Info} reads from its connection. */
export interface InfoSource {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly alpnProtocol: string | null;
  /** Starts watching for the client's EOF. */
  watchPeer(): void;
}

/** Handler info with a signal created only when someone asks for it. */
export class Info implements HttpServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly alpnProtocol: string | null;
  readonly requestIndex: number;
  #controller: AbortController | null = null;
  #reason: unknown = undefined;
  #aborted = false;
  #conn: InfoSource;

  constructor(conn: InfoSource, index: number) {
    this.#conn = conn;
    this.remoteAddr = conn.remoteAddr;
    this.localAddr = conn.localAddr;
    this.alpnProtocol = conn.alpnProtocol;
    this.requestIndex = index;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
      // Only a handler that watches the signal needs the peer's EOF seen
      // early; reading ahead costs throughput, so it starts here.
      else this.#conn.watchPeer();
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** Errors that mean the peer went away, not a bug of ours. */
export function isPeerError(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    (error instanceof Error && error.name === "TlsError") ||
    (error instanceof Error &&
      /tls|certificate|handshake/i.test(error.message));
}

const latin1 = new TextDecoder("latin1");

/** The request line at buf[start..], for the log of a rejected head. */
export function requestLineOf(
  buf: Uint8Array,
  start: number,
  end: number,
): string | null {
  if (end <= start) return null;
  let e = start;
  const max = Math.min(end, start + 8192);
  while (e < max && buf[e] !== 0x0d && buf[e] !== 0x0a) e++;
  return latin1.decode(buf.subarray(start, e));
}
