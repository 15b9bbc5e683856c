// Counters and hook dispatch shared by the connections of one server.

import type { ServerConfig } from "./_config.ts";
import type { AccessLogEntry } from "./access_log.ts";
import type {
  HttpConnectionInfo,
  HttpResponseRecord,
  HttpServeHandlerInfo,
  HttpTimeoutKind,
} from "./options.ts";
import type { HttpServerStats } from "./server.ts";
import { DeadlineWheel } from "./_deadlines.ts";

/** Mutable state of one server. */
export class ServerState {
  readonly cfg: ServerConfig;
  draining = false;
  /** The deadline wheel: its coarse clock, and the sweep handshakes use. */
  clock: DeadlineWheel = new DeadlineWheel(500);
  open = 0;
  accepted = 0;
  served = 0;
  inFlight = 0;
  parseErrors = 0;
  handlerErrors = 0;
  handshakeFailures = 0;
  /** Handshakes the TLS layer gave up (each may pin a socket); 0 over TCP. */
  abandonedHandshakes: () => number = () => 0;

  constructor(cfg: ServerConfig) {
    this.cfg = cfg;
  }

  snapshot(): HttpServerStats {
    return {
      ...this.cfg.metrics.snapshot(),
      openConnections: this.open,
      acceptedConnections: this.accepted,
      requestsServed: this.served,
      requestsInFlight: this.inFlight,
      parseErrors: this.parseErrors,
      handlerErrors: this.handlerErrors,
      // Counted here: the TLS layer bumps this field directly.
      handshakeFailures: this.handshakeFailures,
      abandonedTlsHandshakes: this.abandonedHandshakes(),
    };
  }

  /** Whether a finished response needs a record (a hook or a live log). */
  get recording(): boolean {
    if (this.cfg.hooks.onResponseEnd !== undefined) return true;
    const log = this.cfg.accessLog;
    return log !== null && log.enabled;
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
    this.cfg.metrics.connectionAccepted();
    const hook = this.cfg.hooks.onConnectionOpen;
    if (hook) this.#hook(() => hook(conn));
  }

  connectionClose(conn: HttpConnectionInfo): void {
    this.open--;
    this.cfg.metrics.connectionClosed();
    const hook = this.cfg.hooks.onConnectionClose;
    if (hook) this.#hook(() => hook(conn));
  }

  requestStart(request: Request, info: HttpServeHandlerInfo): void {
    const hook = this.cfg.hooks.onRequestStart;
    if (hook) this.#hook(() => hook(request, info));
  }

  /** Calls the onResponseEnd hook and logs the line; the caller counts. */
  responseEnd(record: HttpResponseRecord): void {
    const hook = this.cfg.hooks.onResponseEnd;
    if (hook) this.#hook(() => hook(record));
    const log = this.cfg.accessLog;
    if (log !== null && log.enabled) this.#hook(() => log.log(entryOf(record)));
  }

  timeout(kind: HttpTimeoutKind): void {
    this.cfg.metrics.timeout(kind);
    const hook = this.cfg.hooks.onTimeout;
    if (hook) this.#hook(() => hook(kind));
  }

  parseError(status: number, error: unknown): void {
    this.parseErrors++;
    const hook = this.cfg.hooks.onParseError;
    if (hook) this.#hook(() => hook(status, error));
  }
}

/** The first value of a header (lowercase `name`) in a flat list. */
function header(headers: readonly string[], name: string): string | null {
  for (let i = 0; i < headers.length; i += 2) {
    const h = headers[i]!;
    if (h.length === name.length && h.toLowerCase() === name) {
      return headers[i + 1]!;
    }
  }
  return null;
}

/** The access log's view of a finished response. */
function entryOf(r: HttpResponseRecord): AccessLogEntry {
  return {
    remoteAddr: r.remoteAddr.hostname,
    time: r.time,
    method: r.method,
    target: r.target,
    protocol: r.protocol,
    // The raw line only when the head could not be parsed into its parts.
    requestLine: r.method === null ? r.requestLine : null,
    status: r.status,
    bytesSent: r.bytesSent,
    referer: header(r.headers, "referer"),
    userAgent: header(r.headers, "user-agent"),
    durationMs: r.durationMs,
    user: null,
  };
}
