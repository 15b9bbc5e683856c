// The script each worker of httpServeTlsWorkers runs: imports the user's
// module, serves it with httpServeTlsOpts on the shared port (SO_REUSEPORT)
// and answers the pool's messages (stats, reload, shutdown).

import { httpServeTlsOpts } from "./serve_tls.ts";
import type { HttpsServer } from "./cert_reload.ts";
import type { HttpServeHandler, HttpServerHooks } from "./options.ts";
import type { ToWorker } from "./_worker_protocol.ts";
import { errorData } from "./_worker_protocol.ts";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let server: HttpsServer | null = null;

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
      const config = { ...message.config };
      if (typeof mod.onError === "function") {
        config.onError = mod.onError as (error: unknown) => Response | void;
      }
      if (mod.hooks !== undefined) config.hooks = mod.hooks as HttpServerHooks;
      const started = httpServeTlsOpts(config, message.tls, handler);
      server = started;
      started.finished.then(() => {
        scope.postMessage({ type: "finished", stats: started.stats() });
      }, (error) => {
        scope.postMessage({ type: "failed", error: errorData(error) });
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
    scope.postMessage({ type: "failed", error: errorData(error) });
  });
};
