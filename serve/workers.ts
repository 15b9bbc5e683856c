// The multi-core and reload parts of `deno task serve`: --workers N starts
// the demo in N workers; SIGHUP re-reads the certificate files.

import {
  type HttpServerOptions,
  httpServeTlsWorkers,
  type HttpsServer,
  type HttpsTlsConfig,
  type HttpWorkerServer,
} from "../http/mod.ts";

/**
 * Starts the demo app in `count` workers. A function cannot be sent to a
 * worker: `priority` stays behind (demo_worker.ts exports the same one) and
 * `onListen` runs here. Access records reach this thread's LogTape sinks.
 *
 * @param config The server options built from the flags.
 * @param tls The certificate files and handshake timeout.
 * @param count The `--workers` value.
 * @returns The running server.
 * @throws {RangeError} If `count` is not an integer from 1 to 256.
 *
 * @example Two workers
 * ```ts ignore
 * import { startDemoWorkers } from "./workers.ts";
 *
 * const server = await startDemoWorkers(
 *   { port: 8443 },
 *   { certFile: "testdata/localhost.pem", keyFile: "testdata/localhost.key" },
 *   2,
 * );
 * await server.shutdown();
 * ```
 */
export async function startDemoWorkers(
  config: HttpServerOptions,
  tls: HttpsTlsConfig,
  count: number,
): Promise<HttpWorkerServer> {
  const sent: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === "priority") continue;
    if (typeof value === "function" && key !== "onListen") {
      console.warn(`--workers: ${key} is not used by the workers`);
    } else sent[key] = value;
  }
  const server = await httpServeTlsWorkers({
    ...sent as HttpServerOptions,
    workers: { count, module: new URL("./demo_worker.ts", import.meta.url) },
  }, tls);
  console.log(
    server.reusePort
      ? `${server.workers} workers share the port (SO_REUSEPORT)`
      : "1 worker: SO_REUSEPORT needs Linux and --unstable-net",
  );
  return server;
}

/**
 * Reloads the certificate files on SIGHUP; a bad pair is reported and the
 * old one stays in use.
 *
 * @param server The running server.
 * @returns Removes the signal listener.
 *
 * @example Reload until stopped
 * ```ts ignore
 * import { reloadOnSighup } from "./workers.ts";
 * import { httpServeTlsOpts } from "../http/mod.ts";
 *
 * const server = httpServeTlsOpts({ port: 8443 }, { certFile: "c.pem", keyFile: "k.pem" }, () => new Response("hi"));
 * const remove = reloadOnSighup(server);
 * await server.finished;
 * remove();
 * ```
 */
export function reloadOnSighup(server: HttpsServer): () => void {
  const onHup = () => {
    server.reloadCertificates().then(
      () => console.log("SIGHUP: certificates reloaded"),
      (error: Error) =>
        console.error(
          `SIGHUP: reload refused, the old certificate stays: ${error.message}`,
        ),
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  return () => Deno.removeSignalListener("SIGHUP", onHup);
}
