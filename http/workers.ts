// Multi-core HTTPS: N Web Workers, each running httpServeTlsOpts on the same
// address with SO_REUSEPORT, so the kernel spreads connections over them.

import type { HttpsServer } from "./cert_reload.ts";
import type { HttpServerOptions, HttpsTlsConfig } from "./options.ts";
import type { HttpServerStats } from "./server.ts";
import { reusePortSupported } from "./_cert_reload.ts";
import { Member, WorkerPool } from "./_worker_pool.ts";

/**
 * The `workers` field of {@linkcode HttpWorkerServerOptions}.
 *
 * @example Four workers importing app.ts; a relative path is refused
 * ```ts
 * import { httpServeTlsWorkers, type HttpWorkersConfig } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const workers: HttpWorkersConfig = {
 *   module: new URL("./app.ts", import.meta.url), // exports `handler` or a default `{ fetch }`
 *   count: 4,
 *   startTimeoutMs: 5000,
 * };
 * const tls = { certFile: "cert.pem", keyFile: "key.pem" };
 * // Checked before any worker starts.
 * await assert.rejects(
 *   httpServeTlsWorkers({ port: 8443, workers: { ...workers, module: "./app.ts" } }, tls),
 *   TypeError,
 * );
 * ```
 */
export interface HttpWorkersConfig {
  /**
   * The module each worker imports: it exports `handler` (an
   * `HttpServeHandler`) or a default export with a `fetch(req, info)`
   * method, and optionally `onError`, `hooks` and `priority` (the options
   * of the same names). A function cannot be sent to a Worker, hence a
   * module. Give an absolute URL, e.g. `new URL("./app.ts", import.meta.url)`.
   */
  module: URL | string;
  /**
   * How many workers to start; 1 when SO_REUSEPORT is not available (see
   * {@linkcode HttpWorkerServer.workers}).
   *
   * @default {navigator.hardwareConcurrency}
   */
  count?: number;
  /**
   * How long each worker may take to import its module and listen.
   *
   * @default {10000}
   */
  startTimeoutMs?: number;
}

/**
 * Options of {@linkcode httpServeTlsWorkers}.
 *
 * @example Per-worker limits; callbacks belong in the worker module
 * ```ts
 * import { httpServeTlsWorkers, type HttpWorkerServerOptions } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const config: HttpWorkerServerOptions = {
 *   hostname: "127.0.0.1",
 *   port: 8443,
 *   maxInFlight: 512, // per worker
 *   accessLog: { format: "json" }, // a named format: a function cannot reach a worker
 *   workers: { module: new URL("./app.ts", import.meta.url), count: 2 },
 * };
 * const tls = { certFile: "cert.pem", keyFile: "key.pem" };
 * // An onError function cannot be sent to a worker: export it from app.ts instead.
 * await assert.rejects(httpServeTlsWorkers({ ...config, onError: () => {} }, tls), TypeError);
 * ```
 */
export interface HttpWorkerServerOptions extends HttpServerOptions {
  /** The worker module and count. */
  workers: HttpWorkersConfig;
}

/**
 * HTTPS served by several Web Workers from {@linkcode httpServeTlsWorkers}.
 * `stats()` returns the sum of the workers' stats as last collected (at
 * start, by `collectStats()`, and at the end); `shutdown()` drains every
 * worker; `reloadCertificates()` reloads every worker.
 *
 * @example A periodic report summed over every worker
 * ```ts
 * import type { HttpWorkerServer } from "@quartz/std/http";
 *
 * async function report(server: HttpWorkerServer): Promise<string> {
 *   const stats = await server.collectStats();
 *   return `${server.workers} workers: ${stats.openConnections} connections, ` +
 *     `${stats.requestsServed} requests served`;
 * }
 * ```
 */
export interface HttpWorkerServer extends HttpsServer {
  /**
   * Workers serving: the count asked for with SO_REUSEPORT, else 1 (one
   * listener cannot be shared by workers).
   */
  readonly workers: number;
  /**
   * Asks every worker for its stats and sums them (gauges too).
   *
   * @returns The merged stats, also returned by `stats()` from now on.
   */
  collectStats(): Promise<HttpServerStats>;
}

const LOCAL_ONLY = ["onListen", "signal"] as const;

function workerConfig(config: HttpWorkerServerOptions): HttpServerOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === "workers" || (LOCAL_ONLY as readonly string[]).includes(key)) {
      continue;
    }
    if (key === "onError" || key === "hooks" || key === "priority") {
      throw new TypeError(
        `Invalid ${key}: functions cannot be sent to workers, export ${key} from the worker module`,
      );
    }
    if (
      key === "accessLog" && value !== null && typeof value === "object" &&
      typeof (value as { format?: unknown }).format === "function"
    ) {
      throw new TypeError(
        `Invalid accessLog.format: a function cannot be sent to workers, use "combined", "common" or "json"`,
      );
    }
    try {
      structuredClone(value);
    } catch (error) {
      throw new TypeError(
        `Invalid ${key} ${String(value)}: it cannot be sent to a worker`,
        { cause: error },
      );
    }
    out[key] = value;
  }
  return out as HttpServerOptions;
}

/**
 * Serves HTTPS/1.1 from `workers.count` Web Workers, one engine
 * ({@linkcode httpServeTlsOpts}) per worker, all bound to the same address
 * with SO_REUSEPORT so the Linux kernel spreads connections over them. Each
 * worker imports `workers.module` for its handler (and `onError`, `hooks`,
 * `priority`). Without SO_REUSEPORT (another OS, or no `--unstable-net`) one
 * worker serves everything and `server.workers` is 1. Workers inherit the
 * process's permissions: run with `--unstable-net --allow-net --allow-read`
 * (the certificate files and, for a `file:` module, the module's folder).
 *
 * Limits (`maxConnections`, `maxInFlight`) apply per worker. With `accessLog`, each worker sends its access records to this
 * thread in batches (within a few milliseconds, and all of them before
 * `finished` resolves), where they are emitted through LogTape under the
 * same category, level, message, properties and timestamp: the sinks
 * configured here get each line once. A worker module that configures
 * LogTape itself (at the top level) keeps its records in its own sinks.
 *
 * @param config Address, timeouts, limits (sent to every worker) and `workers`.
 * @param tlsConfig Certificate and key (PEM or files), as for httpServeTlsOpts.
 * @returns The running server, once every worker listens.
 * @throws {TypeError} If `workers.module` is not an absolute URL, a field
 * cannot be sent to a worker (`onError`, `hooks`, `priority`: export them
 * from the module; an `accessLog.format` function), or a worker's module has
 * no handler or a bad `onError`/`priority` export.
 * @throws {RangeError} If `workers.count` is not an integer from 1 to 256.
 * @throws {DOMException} `TimeoutError` if a worker does not listen within
 * `workers.startTimeoutMs`.
 *
 * @example Two workers serving app.ts
 * ```ts ignore
 * // app.ts: export default { fetch: () => new Response("hi") };
 * import { httpServeTlsWorkers } from "@quartz/std/http";
 *
 * const server = await httpServeTlsWorkers(
 *   { port: 8443, workers: { count: 2, module: new URL("./app.ts", import.meta.url) } },
 *   { certFile: "cert.pem", keyFile: "key.pem" },
 * );
 * console.log(`${server.workers} workers, reusePort ${server.reusePort}`);
 * Deno.addSignalListener("SIGTERM", () => server.shutdown({ graceMs: 5_000 }));
 * await server.finished;
 * ```
 */
export async function httpServeTlsWorkers(
  config: HttpWorkerServerOptions,
  tlsConfig: HttpsTlsConfig,
): Promise<HttpWorkerServer> {
  if (config === null || typeof config !== "object") {
    throw new TypeError(`Invalid config ${String(config)}: expected an object`);
  }
  const spec = config.workers;
  if (spec === null || typeof spec !== "object") {
    throw new TypeError(
      `Invalid workers ${String(spec)}: expected { module, count }`,
    );
  }
  let module: string;
  try {
    module = new URL(spec.module).href;
  } catch (error) {
    throw new TypeError(
      `Invalid workers.module ${
        String(spec.module)
      }: expected an absolute URL, e.g. new URL("./app.ts", import.meta.url)`,
      { cause: error },
    );
  }
  const asked = spec.count ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(asked) || asked < 1 || asked > 256) {
    throw new RangeError(
      `Invalid workers.count ${
        String(asked)
      }: expected an integer from 1 to 256`,
    );
  }
  const startTimeoutMs = spec.startTimeoutMs ?? 10_000;
  if (!(startTimeoutMs > 0)) {
    throw new RangeError(
      `Invalid workers.startTimeoutMs ${
        String(startTimeoutMs)
      }: expected a positive number`,
    );
  }
  if (tlsConfig === null || typeof tlsConfig !== "object") {
    throw new TypeError(
      `Invalid tlsConfig ${String(tlsConfig)}: expected an object`,
    );
  }
  const sent = workerConfig(config);
  config.signal?.throwIfAborted();
  const reusePort = reusePortSupported() && tlsConfig.reusePort !== false;
  const count = reusePort ? asked : 1;
  const tls: HttpsTlsConfig = { ...tlsConfig, reusePort };
  const members: Member[] = [];
  // A worker that fails after it started is retired; its clients move to
  // the others (the kernel stops routing to its closed socket).
  const report = (error: unknown) => console.error(error);
  try {
    // The first worker binds (port 0 picks one); the others join its port.
    const first = new Member(0, report);
    members.push(first);
    const addr = await first.start(
      { type: "start", module, config: sent, tls },
      startTimeoutMs,
    );
    const rest: Member[] = [];
    for (let i = 1; i < count; i++) rest.push(new Member(i, report));
    members.push(...rest);
    await Promise.all(rest.map((m) =>
      m.start({
        type: "start",
        module,
        config: { ...sent, port: addr.port },
        tls,
      }, startTimeoutMs)
    ));
    const pool = new WorkerPool(members, addr, reusePort, config.signal);
    config.onListen?.(addr);
    return pool;
  } catch (error) {
    for (const m of members) m.terminate();
    throw error;
  }
}
