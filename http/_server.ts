// The accept loop: a supervisor nursery of connections, so one connection's
// failure never touches another.

import { goSupervisor, type Nursery } from "../concurrency/mod.ts";
import type { ServerConfig } from "./_config.ts";
import { Connection } from "./_conn.ts";
import { isPeerError } from "./_conn_parts.ts";
import { DeadlineWheel } from "./_deadlines.ts";
import { ServerState } from "./_state.ts";
import { metricsText, type MetricsTextOptions } from "./metrics_text.ts";
import type { HttpShutdownOptions } from "./options.ts";
import type { HttpServer, HttpServerStats } from "./server.ts";

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
  #closing = false;
  /** Settles when a replaceListener() in progress is done. */
  #swap: Promise<void> | null = null;
  /** The TLS handshake's deadline; null for plain TCP. */
  #handshakeMs: number | null;
  /** Settles when the accept loop of a listener has ended. */
  #loopEnds = new Map<Deno.Listener, PromiseWithResolvers<void>>();
  /** Resolves when accepting has ended for good (shutdown, lost listener). */
  #acceptEnded = Promise.withResolvers<void>();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #nursery: Nursery | null = null;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.shutdown();

  constructor(
    listener: Deno.Listener,
    cfg: ServerConfig,
    handshakeMs: number | null,
    options: { signal: AbortSignal | undefined; tickMs: number },
  ) {
    this.#handshakeMs = handshakeMs;
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
      (nursery) => this.#acceptLoop(nursery),
      { onFailure: (error) => this.#state.reportError(error) },
    ).then(() => {}).finally(() => {
      clearTimeout(this.#graceTimer);
      this.#wheel.stop();
      // Requests still waiting for a slot are shed, and its timer stops.
      cfg.shedder?.[Symbol.dispose]();
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

  metricsText(options?: MetricsTextOptions): string {
    return metricsText(this.#state.snapshot(), options);
  }

  /**
   * Accepts from the listener `open` returns from now on (a certificate
   * reload); open connections are untouched. `closeFirst` closes the current
   * listener before `open` runs, for when the address cannot be bound twice.
   *
   * @throws {Deno.errors.BadResource} If the server is shutting down.
   */
  async replaceListener(
    open: () => Deno.Listener | Promise<Deno.Listener>,
    closeFirst: boolean,
  ): Promise<void> {
    if (this.#closing) {
      throw new Deno.errors.BadResource(
        "Cannot replace the listener: the server is shutting down",
      );
    }
    const old = this.#listener;
    const oldLoop = this.#loopEnds.get(old)?.promise;
    const swap = Promise.withResolvers<void>();
    this.#swap = swap.promise;
    try {
      if (closeFirst) old.close();
      // If open() throws after closeFirst, the accept loop ends on the
      // closed listener and the server drains: the caller reports that.
      const next = await open();
      if (this.#closing) {
        next.close();
        return;
      }
      this.#listener = next;
      this.#nursery!.go(() => this.#acceptFrom(next));
      // The kernel resets connections still queued on a closed listener:
      // closing the old one at once keeps that window to one event-loop turn.
      if (!closeFirst) old.close();
    } finally {
      this.#swap = null;
      swap.resolve();
    }
    // Deno releases the old socket when its pending accept fails: until
    // then the kernel could still queue a new connection on it.
    await oldLoop;
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
      try {
        this.#listener.close();
      } catch (error) {
        // A failed replaceListener() left the old listener, closed.
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
      for (const conn of this.#wheel) {
        // Idle keep-alive connections and those only waiting for the
        // client's close after their last response go at once.
        if (
          conn instanceof Connection && !conn.writing &&
          ((conn.phase === "idle" && conn.requests > 0) ||
            conn.phase === "closing")
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
    // Connections, and TLS handshakes under their deadline (the upgrade of a
    // TCP connection settles at once, so nothing else is open).
    for (const item of this.#wheel) {
      if (item instanceof Connection) item.abortRequest(reason);
      item.close();
    }
    this.#state.cfg.shedder?.[Symbol.dispose]();
    this.#nursery?.cancel(reason);
  }

  async #acceptLoop(nursery: Nursery): Promise<void> {
    this.#nursery = nursery;
    const addrInfo = this.addr;
    this.#state.cfg.onListen?.(addrInfo);
    // Each listener gets its own loop, so a replaced one can drain while its
    // successor accepts.
    nursery.go(() => this.#acceptFrom(this.#listener));
    await this.#acceptEnded.promise;
  }

  async #acceptFrom(listener: Deno.Listener): Promise<void> {
    const end = Promise.withResolvers<void>();
    this.#loopEnds.set(listener, end);
    try {
      await this.#acceptUntilReplaced(listener);
    } finally {
      this.#loopEnds.delete(listener);
      end.resolve();
    }
  }

  async #acceptUntilReplaced(listener: Deno.Listener): Promise<void> {
    const nursery = this.#nursery!;
    while (!this.#closing) {
      let raw: Deno.Conn;
      try {
        raw = await listener.accept();
      } catch (error) {
        if (this.#closing) break;
        // replaceListener() closed the one this accept waited on.
        if (this.#swap !== null) await this.#swap;
        if (this.#closing) break;
        // Replaced: the successor has its own loop.
        if (listener !== this.#listener) return;
        if (error instanceof Deno.errors.BadResource) break;
        this.#state.reportError(error);
        // Out of descriptors or similar: pause instead of spinning.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      nursery.go(() => this.#serve(raw));
    }
    this.#acceptEnded.resolve();
  }

  /**
   * Runs one accepted connection: its handshake, then HTTP, or a 503 when
   * `maxConnections` is reached. The connection object exists from accept
   * on (the handshake's deadline is its own), with no async frame here.
   */
  #serve(raw: Deno.Conn): Promise<void> | undefined {
    const state = this.#state;
    const shedder = state.cfg.shedder;
    if (shedder !== null && !shedder.tryAdmitConnection()) {
      if (shedder.shedBeforeHandshake) {
        // Cheapest: no handshake, no buffers; the client sees a reset or EOF.
        closeQuietly(raw);
        return;
      }
      return new Connection(raw, state, this.#handshakeMs).run(
        shedder.retryAfterSeconds,
      );
    }
    const done = new Connection(raw, state, this.#handshakeMs).run(-1);
    return shedder === null
      ? done
      : done.finally(() => shedder.releaseConnection());
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
