// Counters and hook dispatch shared by the connections of one server.

import type { ServerConfig } from "./_config.ts";
import type {
  HttpConnectionInfo,
  HttpResponseRecord,
  HttpServeHandlerInfo,
  HttpTimeoutKind,
} from "./options.ts";
import type { HttpServerStats } from "./server.ts";

/** Mutable state of one server. */
export class ServerState {
  readonly cfg: ServerConfig;
  draining = false;
  /** The coarse clock of the deadline wheel. */
  clock: { now: number } = { now: Date.now() };
  open = 0;
  accepted = 0;
  served = 0;
  inFlight = 0;
  parseErrors = 0;
  handlerErrors = 0;
  handshakeFailures = 0;
  timeouts: Record<HttpTimeoutKind, number> = {
    handshake: 0,
    header: 0,
    body: 0,
    idle: 0,
    write: 0,
  };
  /** Handshakes the TLS layer gave up (each may pin a socket); 0 over TCP. */
  abandonedHandshakes: () => number = () => 0;

  constructor(cfg: ServerConfig) {
    this.cfg = cfg;
  }

  snapshot(): HttpServerStats {
    return {
      openConnections: this.open,
      acceptedConnections: this.accepted,
      requestsServed: this.served,
      requestsInFlight: this.inFlight,
      timeouts: { ...this.timeouts },
      parseErrors: this.parseErrors,
      handlerErrors: this.handlerErrors,
      handshakeFailures: this.handshakeFailures,
      abandonedTlsHandshakes: this.abandonedHandshakes(),
    };
  }

  /** Reports an error of ours or of a hook: onError, else the console. */
  reportError(error: unknown): void {
    const onError = this.cfg.onError;
    if (onError === null) {
      console.error("HTTP server error:", error);
      return;
    }
    try {
      const result = onError(error);
      if (result instanceof Promise) {
        result.catch((e) => console.error("HTTP server onError failed:", e));
      }
    } catch (hookError) {
      console.error("HTTP server onError failed:", hookError, error);
    }
  }

  /** The response for a handler that threw: onError's, else a 500. */
  async errorResponse(error: unknown): Promise<Response> {
    this.handlerErrors++;
    const onError = this.cfg.onError;
    if (onError !== null) {
      try {
        const res = await onError(error);
        if (res instanceof Response) return res;
      } catch (hookError) {
        console.error("HTTP server onError failed:", hookError, error);
      }
    } else {
      console.error("HTTP handler failed:", error);
    }
    return new Response("Internal Server Error\n", { status: 500 });
  }

  #hook(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.reportError(error);
    }
  }

  connectionOpen(conn: HttpConnectionInfo): void {
    this.open++;
    this.accepted++;
    const hook = this.cfg.hooks.onConnectionOpen;
    if (hook) this.#hook(() => hook(conn));
  }

  connectionClose(conn: HttpConnectionInfo): void {
    this.open--;
    const hook = this.cfg.hooks.onConnectionClose;
    if (hook) this.#hook(() => hook(conn));
  }

  requestStart(request: Request, info: HttpServeHandlerInfo): void {
    const hook = this.cfg.hooks.onRequestStart;
    if (hook) this.#hook(() => hook(request, info));
  }

  /** Calls the onResponseEnd hook; the caller counts. */
  responseEnd(record: HttpResponseRecord): void {
    const hook = this.cfg.hooks.onResponseEnd;
    if (hook) this.#hook(() => hook(record));
  }

  timeout(kind: HttpTimeoutKind): void {
    this.timeouts[kind]++;
    const hook = this.cfg.hooks.onTimeout;
    if (hook) this.#hook(() => hook(kind));
  }

  parseError(status: number, error: unknown): void {
    this.parseErrors++;
    const hook = this.cfg.hooks.onParseError;
    if (hook) this.#hook(() => hook(status, error));
  }
}
