// The accept loop: a supervisor nursery of connections, so one connection's
// failure never touches another.

import { goSupervisor, type Nursery } from "../concurrency/mod.ts";
import type { ServerConfig } from "./_config.ts";
import { Connection } from "./_conn.ts";
import { isPeerError, type Transport } from "./_conn_parts.ts";
import { DeadlineWheel } from "./_deadlines.ts";
import { ServerState } from "./_state.ts";
import type { HttpShutdownOptions } from "./options.ts";
import type { HttpServer, HttpServerStats } from "./server.ts";

/** A connection ready for HTTP (after its handshake). */
export interface ReadyConn {
  transport: Transport;
  remoteAddr: Deno.NetAddr;
  localAddr: Deno.NetAddr;
  alpnProtocol: string | null;
  tls: boolean;
}

/** Turns an accepted socket into a ready connection (TLS handshake). */
export type Upgrade = (
  conn: Deno.Conn,
  signal: AbortSignal,
  state: ServerState,
) => Promise<ReadyConn | null>;

function tickFor(cfg: ServerConfig, extraMs: number): number {
  const shortest = Math.min(
    cfg.keepAliveTimeoutMs,
    cfg.headerTimeoutMs,
    cfg.bodyTimeoutMs,
    cfg.writeTimeoutMs,
    cfg.lingerMs,
    extraMs,
  );
  return Math.min(500, Math.max(5, Math.floor(shortest / 4)));
}

/** The engine behind {@linkcode HttpServer}. */
export class ServerImpl implements HttpServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #listener: Deno.Listener;
  #state: ServerState;
  #wheel: DeadlineWheel;
  #conns = new Set<Connection>();
  #raw = new Set<Deno.Conn>();
  #closing = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #nursery: Nursery | null = null;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.shutdown();

  constructor(
    listener: Deno.Listener,
    cfg: ServerConfig,
    upgrade: Upgrade,
    options: { signal: AbortSignal | undefined; tickMs: number },
  ) {
    this.#listener = listener;
    this.addr = listener.addr as Deno.NetAddr;
    this.#state = new ServerState(cfg);
    this.#wheel = new DeadlineWheel(tickFor(cfg, options.tickMs));
    this.#state.clock = this.#wheel;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    // An already-aborted signal: serve nothing.
    if (this.#signal?.aborted) queueMicrotask(this.#onAbort);
    this.finished = goSupervisor(
      (nursery) => this.#acceptLoop(nursery, upgrade),
      { onFailure: (error) => this.#state.reportError(error) },
    ).then(() => {}).finally(() => {
      clearTimeout(this.#graceTimer);
      this.#signal?.removeEventListener("abort", this.#onAbort);
    });
  }

  /** Lets the TLS layer report its count of abandoned handshakes. */
  set abandonedHandshakes(count: () => number) {
    this.#state.abandonedHandshakes = count;
  }

  stats(): HttpServerStats {
    return this.#state.snapshot();
  }

  shutdown(options: HttpShutdownOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    if (typeof graceMs !== "number" || !(graceMs >= 0)) {
      throw new RangeError(
        `Invalid graceMs ${String(graceMs)}: expected a number >= 0`,
      );
    }
    if (!this.#closing) {
      this.#closing = true;
      this.#state.draining = true;
      this.#listener.close();
      for (const conn of this.#conns) {
        // Idle keep-alive connections and those only waiting for the
        // client's close after their last response go at once.
        if (
          (conn.phase === "idle" && conn.requests > 0) ||
          conn.phase === "closing"
        ) conn.close();
      }
      this.#graceTimer = setTimeout(() => this.#forceClose(), graceMs);
    }
    return this.finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #forceClose(): void {
    const reason = new DOMException("Server shut down", "AbortError");
    for (const conn of this.#conns) {
      conn.abortRequest(reason);
      conn.close();
    }
    for (const raw of this.#raw) closeQuietly(raw);
    this.#nursery?.cancel(reason);
  }

  async #acceptLoop(nursery: Nursery, upgrade: Upgrade): Promise<void> {
    this.#nursery = nursery;
    const addrInfo = this.addr;
    this.#state.cfg.onListen?.(addrInfo);
    while (!this.#closing) {
      let raw: Deno.Conn;
      try {
        raw = await this.#listener.accept();
      } catch (error) {
        if (this.#closing) break;
        if (error instanceof Deno.errors.BadResource) break;
        this.#state.reportError(error);
        // Out of descriptors or similar: pause instead of spinning.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      nursery.go(() => this.#serve(raw, upgrade, nursery.signal));
    }
  }

  async #serve(
    raw: Deno.Conn,
    upgrade: Upgrade,
    signal: AbortSignal,
  ): Promise<void> {
    const state = this.#state;
    this.#raw.add(raw);
    let ready: ReadyConn | null;
    try {
      ready = await upgrade(raw, signal, state);
    } finally {
      this.#raw.delete(raw);
    }
    if (ready === null) return;
    const conn = new Connection(ready.transport, state, ready);
    this.#conns.add(conn);
    this.#wheel.add(conn);
    state.connectionOpen(conn);
    try {
      await conn.serve();
    } finally {
      this.#wheel.delete(conn);
      this.#conns.delete(conn);
      state.connectionClose(conn);
    }
  }
}

/** Closes a socket that may already be closed. */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch (error) {
    if (!isPeerError(error)) throw error;
  }
}
