// The main-thread side of httpServeTlsWorkers: one Member per Web Worker,
// request/response by sequence number, stats merged from the workers.

import type { HttpsReloadOptions } from "./cert_reload.ts";
import { metricsText, type MetricsTextOptions } from "./metrics_text.ts";
import type { HttpShutdownOptions } from "./options.ts";
import type { HttpServerStats } from "./server.ts";
import type { HttpWorkerServer } from "./workers.ts";
import {
  errorFrom,
  type FromWorker,
  mergeStats,
  type ToWorker,
} from "./_worker_protocol.ts";
import { emitRecords } from "./_worker_log.ts";

const ENTRY = new URL("./_worker_entry.ts", import.meta.url);

/** One worker and the replies it owes. */
export class Member {
  readonly index: number;
  readonly finished: Promise<void>;
  stats: HttpServerStats | null = null;
  addr: Deno.NetAddr | null = null;
  #worker: Worker;
  #done = false;
  #seq = 0;
  #waiters = new Map<number, (message: FromWorker) => void>();
  #onStart: ((message: FromWorker | Error) => void) | null = null;
  #finish!: () => void;
  #report: (error: unknown) => void;

  constructor(index: number, report: (error: unknown) => void) {
    this.index = index;
    this.#report = report;
    this.finished = new Promise((resolve) => this.#finish = resolve);
    this.#worker = new Worker(ENTRY, {
      type: "module",
      name: `quartz-http-worker-${index}`,
    });
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) =>
      this.#receive(event.data);
    this.#worker.onerror = (event: ErrorEvent) => {
      // Keep the main thread alive: the pool reports and retires the worker.
      event.preventDefault();
      this.#fail(new Error(`Worker ${index} failed: ${event.message}`));
    };
  }

  get done(): boolean {
    return this.#done;
  }

  post(message: ToWorker): void {
    if (!this.#done) this.#worker.postMessage(message);
  }

  /** Starts serving; resolves with the bound address. */
  start(message: ToWorker, timeoutMs: number): Promise<Deno.NetAddr> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onStart = null;
        reject(
          new DOMException(
            `Worker ${this.index} did not listen within ${timeoutMs} ms`,
            "TimeoutError",
          ),
        );
      }, timeoutMs);
      this.#onStart = (reply) => {
        clearTimeout(timer);
        this.#onStart = null;
        if (reply instanceof Error) reject(reply);
        else if (reply.type === "listening") resolve(reply.addr);
      };
      this.post(message);
    });
  }

  /** Sends a request with a sequence number and waits for its reply. */
  request(
    make: (seq: number) => ToWorker,
  ): Promise<FromWorker> {
    if (this.#done) {
      return Promise.reject(
        new Deno.errors.BadResource(`Worker ${this.index} has stopped`),
      );
    }
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#waiters.set(seq, resolve);
      this.#worker.postMessage(make(seq));
    });
  }

  terminate(): void {
    this.#retire();
  }

  #receive(message: FromWorker): void {
    switch (message.type) {
      case "listening":
        this.addr = message.addr;
        this.stats = message.stats;
        this.#onStart?.(message);
        return;
      case "stats":
        this.stats = message.stats;
        break;
      case "reloaded":
        break;
      case "finished":
        this.stats = message.stats;
        this.#retire();
        return;
      case "failed":
        this.#fail(errorFrom(message.error));
        return;
      case "log":
        emitRecords(message.records);
        return;
    }
    const waiter = this.#waiters.get(message.seq);
    this.#waiters.delete(message.seq);
    waiter?.(message);
  }

  #fail(error: Error): void {
    if (this.#onStart !== null) this.#onStart(error);
    else this.#report(error);
    this.#retire();
  }

  #retire(): void {
    if (this.#done) return;
    this.#done = true;
    this.#worker.terminate();
    const gone = new Deno.errors.BadResource(
      `Worker ${this.index} has stopped`,
    );
    for (const waiter of this.#waiters.values()) {
      waiter({
        type: "failed",
        error: { name: gone.name, message: gone.message },
      });
    }
    this.#waiters.clear();
    this.#finish();
  }
}

/** The server made of the workers. */
export class WorkerPool implements HttpWorkerServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly reusePort: boolean;
  readonly workers: number;
  #members: Member[];
  #last: HttpServerStats;
  #stopping = false;
  #reloads: Promise<void> = Promise.resolve();

  constructor(
    members: Member[],
    addr: Deno.NetAddr,
    reusePort: boolean,
    signal: AbortSignal | undefined,
  ) {
    this.#members = members;
    this.addr = addr;
    this.reusePort = reusePort;
    this.workers = members.length;
    this.#last = mergeStats(members.map((m) => m.stats!));
    const onAbort = () => void this.shutdown();
    signal?.addEventListener("abort", onAbort, { once: true });
    // Aborted while the workers started: stop them at once.
    if (signal?.aborted) queueMicrotask(onAbort);
    this.finished = Promise.all(members.map((m) => m.finished)).then(() => {
      signal?.removeEventListener("abort", onAbort);
      this.#last = mergeStats(members.map((m) => m.stats!));
    });
  }

  stats(): HttpServerStats {
    return structuredClone(this.#last);
  }

  metricsText(options?: MetricsTextOptions): string {
    return metricsText(this.#last, options);
  }

  async collectStats(): Promise<HttpServerStats> {
    await Promise.all(
      this.#members.filter((m) => !m.done).map((m) =>
        m.request((seq) => ({ type: "stats", seq })).catch(() => {})
      ),
    );
    this.#last = mergeStats(this.#members.map((m) => m.stats!));
    return this.stats();
  }

  reloadCertificates(options: HttpsReloadOptions = {}): Promise<void> {
    const run = this.#reloads.then(() => this.#reload(options));
    this.#reloads = run.catch(() => {});
    return run;
  }

  async #reload(options: HttpsReloadOptions): Promise<void> {
    if (this.#stopping) {
      throw new Deno.errors.BadResource(
        "Cannot reload certificates: the server is shutting down",
      );
    }
    const live = this.#members.filter((m) => !m.done);
    // The first worker checks the new pair; a refused one leaves every
    // worker on the old certificate.
    for (const group of [live.slice(0, 1), live.slice(1)]) {
      const replies = await Promise.all(group.map((m) =>
        m.request((seq) => ({
          type: "reload",
          seq,
          options: { ...options },
        }))
      ));
      for (const reply of replies) {
        if (reply.type === "reloaded" && reply.error !== null) {
          throw errorFrom(reply.error);
        }
        if (reply.type === "failed") throw errorFrom(reply.error);
      }
    }
  }

  shutdown(options: HttpShutdownOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    if (typeof graceMs !== "number" || !(graceMs >= 0)) {
      throw new RangeError(
        `Invalid graceMs ${String(graceMs)}: expected a number >= 0`,
      );
    }
    if (!this.#stopping) {
      this.#stopping = true;
      for (const m of this.#members) m.post({ type: "shutdown", graceMs });
    }
    return this.finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
