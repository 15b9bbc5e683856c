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

/**
 * Handler info with a signal and a `completed` promise created only when
 * someone asks for them.
 */
export class Info implements HttpServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly alpnProtocol: string | null;
  readonly requestIndex: number;
  #controller: AbortController | null = null;
  #reason: unknown = undefined;
  #aborted = false;
  #conn: InfoSource;
  #completed: PromiseWithResolvers<void> | null = null;
  /** 0 while the response is out, 1 delivered, 2 not delivered. */
  #outcome: 0 | 1 | 2 = 0;

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

  get completed(): Promise<void> {
    if (this.#completed === null) {
      const completed = this.#completed = Promise.withResolvers<void>();
      // As Deno.serve's: a failure is seen by those who attach a handler.
      completed.promise.catch(() => {});
      if (this.#outcome !== 0) this.#settle();
    }
    return this.#completed.promise;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** The response was written whole (`true`) or could not be (`false`). */
  finish(delivered: boolean): void {
    if (this.#outcome !== 0) return;
    this.#outcome = delivered ? 1 : 2;
    if (this.#completed !== null) this.#settle();
  }

  #settle(): void {
    if (this.#outcome === 1) this.#completed!.resolve();
    else {
      this.#completed!.reject(
        new Deno.errors.Interrupted("The response was not fully delivered"),
      );
    }
  }
}

/** Where a request's `signal` getter finds the info of its exchange. */
const INFO: unique symbol = Symbol("quartz.info");

/**
 * `req.signal` as Deno.serve gives it: aborts when the client goes away, a
 * deadline closes the connection or a shutdown's grace ends. An own getter
 * shadows Request's, so the signal (and the read-ahead that notices a client
 * leaving) is made only for a handler that asks, like `info.signal`.
 */
const SIGNAL: PropertyDescriptor = {
  get(this: { [INFO]: Info }): AbortSignal {
    return this[INFO].signal;
  },
  configurable: true,
};

/** Gives `request` the abort signal of `info`. */
export function linkSignal(request: Request, info: Info): void {
  (request as unknown as { [INFO]: Info })[INFO] = info;
  Object.defineProperty(request, "signal", SIGNAL);
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
