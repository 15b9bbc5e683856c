// The script each worker of httpServeTlsWorkers runs: imports the user's
// module, serves it with httpServeTlsOpts on the shared port (SO_REUSEPORT)
// and answers the pool's messages (stats, reload, shutdown). Access records
// go to the main thread's LogTape through a LogForwarder.

import { configure, getConfig, getConsoleSink } from "@logtape/logtape";
import { httpServeTlsOpts } from "./serve_tls.ts";
import { ACCESS_LOG_CATEGORY } from "./access_log.ts";
import type { HttpsServer } from "./cert_reload.ts";
import type { HttpServeHandler, HttpServerOptions } from "./options.ts";
import type { ToWorker } from "./_worker_protocol.ts";
import { errorData } from "./_worker_protocol.ts";
import { LogForwarder } from "./_worker_log.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let server: HttpsServer | null = null;
let forwarder: LogForwarder | null = null;

/** Posts a final message after the last queued access records. */
function postLast(message: unknown): void {
  forwarder?.flush();
  scope.postMessage(message);
}

/**
 * Configures this worker's LogTape to send access records to the pool,
 * unless the module configured LogTape itself: its sinks then get them.
 */
async function forwardAccessLog(
  accessLog: HttpServerOptions["accessLog"],
): Promise<void> {
  if (accessLog === undefined || accessLog === false) return;
  if (getConfig() !== null) return;
  const category = typeof accessLog === "object" && accessLog !== null &&
      accessLog.category !== undefined
    ? accessLog.category
    : ACCESS_LOG_CATEGORY;
  const sink = new LogForwarder((records) =>
    scope.postMessage({ type: "log", records })
  );
  await configure({
    sinks: { quartzAccess: sink.sink, quartzMeta: getConsoleSink() },
    loggers: [
      { category: [...category], sinks: ["quartzAccess"] },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["quartzMeta"],
      },
    ],
  });
  forwarder = sink;
}

/** The handler of a worker module: `handler` or `default.fetch`. */
function handlerOf(
  mod: Record<string, unknown>,
  url: string,
): HttpServeHandler {
  const named = mod.handler;
  if (typeof named === "function") return named as HttpServeHandler;
  const fallback = mod.default as { fetch?: unknown } | undefined;
  if (fallback !== undefined && typeof fallback.fetch === "function") {
    const fetch = fallback.fetch;
    return (req, info) => fetch.call(fallback, req, info);
  }
  throw new TypeError(
    `Invalid worker module ${url}: expected an exported handler function or a default export with a fetch method`,
  );
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case "start": {
      const mod = await import(message.module) as Record<string, unknown>;
      const handler = handlerOf(mod, message.module);
      const config: HttpServerOptions = { ...message.config };
      // httpServeTlsOpts refuses an onError or priority that is not a
      // function, naming the export.
      for (const name of ["onError", "hooks", "priority"] as const) {
        if (mod[name] !== undefined) {
          (config as Record<string, unknown>)[name] = mod[name];
        }
      }
      await forwardAccessLog(config.accessLog);
      const started = httpServeTlsOpts(config, message.tls, handler);
      server = started;
      started.finished.then(() => {
        postLast({ type: "finished", stats: started.stats() });
      }, (error) => {
        postLast({ type: "failed", error: errorData(error) });
      });
      scope.postMessage({
        type: "listening",
        addr: started.addr,
        stats: started.stats(),
      });
      return;
    }
    case "stats":
      scope.postMessage({
        type: "stats",
        seq: message.seq,
        stats: server!.stats(),
      });
      return;
    case "reload":
      try {
        await server!.reloadCertificates(message.options);
        scope.postMessage({ type: "reloaded", seq: message.seq, error: null });
      } catch (error) {
        scope.postMessage({
          type: "reloaded",
          seq: message.seq,
          error: errorData(error),
        });
      }
      return;
    case "shutdown":
      await server?.shutdown({ graceMs: message.graceMs });
      return;
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((error) => {
    postLast({ type: "failed", error: errorData(error) });
  });
};
