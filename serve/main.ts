// `deno task serve`: the HTTPS server with the demo app and the testdata/
// localhost certificate, for trying the engine out.
//
//   deno task serve [--port 8443] [--hostname 127.0.0.1] [--cert file]
//     [--key file] [--header-timeout ms] [--body-timeout ms]
//     [--keep-alive-timeout ms] [--write-timeout ms] [--handshake-timeout ms]
//     [--grace ms] [--max-connections n] [--max-in-flight n]
//     [--access-log [combined|common|json]] [--workers n]
//
// --workers n serves from n Web Workers sharing the port (SO_REUSEPORT);
// SIGHUP re-reads --cert and --key (a bad pair is refused, the old one stays).
//
// GET /metrics answers the Prometheus text; /healthz and /metrics are
// "critical" requests, served while the others are shed.

import { configure, getConsoleSink } from "@logtape/logtape";
import {
  accessLineFormatter,
  certReloadHandover,
  httpServeTlsOpts,
  type HttpsServer,
} from "../http/mod.ts";
import { demoHandler } from "./demo.ts";
import { priority as demoPriority } from "./demo_worker.ts";
import { reloadOnSighup, startDemoWorkers } from "./workers.ts";

const FLAGS: Record<string, string> = {
  "--port": "8443",
  "--hostname": "127.0.0.1",
  "--cert": "testdata/localhost.pem",
  "--key": "testdata/localhost.key",
  "--header-timeout": "",
  "--body-timeout": "",
  "--keep-alive-timeout": "",
  "--write-timeout": "",
  "--handshake-timeout": "",
  "--grace": "10000",
  "--max-connections": "",
  "--max-in-flight": "",
  "--access-log": "",
  "--workers": "",
};

function parseFlags(args: string[]): Record<string, string> {
  const flags = { ...FLAGS };
  for (let i = 0; i < args.length; i++) {
    let name = args[i]!;
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (!(name in flags)) {
      throw new TypeError(
        `Unknown flag ${name}; known: ${Object.keys(FLAGS).join(", ")}`,
      );
    }
    // A bare --access-log means the default format.
    if (
      value === undefined && name === "--access-log" &&
      (args[i + 1] === undefined || args[i + 1]!.startsWith("--"))
    ) value = "combined";
    value ??= args[++i];
    if (value === undefined) throw new TypeError(`Missing value for ${name}`);
    flags[name] = value;
  }
  return flags;
}

function ms(flags: Record<string, string>, name: string): number | undefined {
  const value = flags[name];
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!(n > 0)) {
    throw new RangeError(`Invalid ${name} ${value}: expected ms > 0`);
  }
  return n;
}

/** What SIGHUP reloads risk on this machine, printed at start. */
const HANDOVER_LINES = {
  migrate:
    "SIGHUP reloads the certificate with zero loss (net.ipv4.tcp_migrate_req=1)",
  reset:
    "SIGHUP reloads the certificate, but a connect queued on the old listener is reset: sysctl -w net.ipv4.tcp_migrate_req=1 makes reloads zero-loss",
  refuse:
    "SIGHUP reloads the certificate, but connects are refused while the listener is bound again (no SO_REUSEPORT: Linux with --unstable-net)",
  unknown:
    "SIGHUP reloads the certificate; whether without loss is unknown (needs --allow-net=127.0.0.1 to probe)",
} as const;

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  const config: Parameters<typeof httpServeTlsOpts>[0] = {
    hostname: flags["--hostname"]!,
    port: Number(flags["--port"]),
    onListen: (addr) => {
      const host = addr.hostname.includes(":")
        ? `[${addr.hostname}]`
        : addr.hostname;
      console.log(`Listening on https://${host}:${addr.port}/`);
    },
  };
  const timeouts = [
    ["--header-timeout", "headerTimeoutMs"],
    ["--body-timeout", "bodyTimeoutMs"],
    ["--keep-alive-timeout", "keepAliveTimeoutMs"],
    ["--write-timeout", "writeTimeoutMs"],
  ] as const;
  for (const [flag, key] of timeouts) {
    const value = ms(flags, flag);
    if (value !== undefined) config[key] = value;
  }
  for (
    const [flag, key] of [
      ["--max-connections", "maxConnections"],
      ["--max-in-flight", "maxInFlight"],
    ] as const
  ) {
    const value = flags[flag]!;
    if (value === "") continue;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(
        `Invalid ${flag} ${value}: expected an integer >= 1`,
      );
    }
    config[key] = n;
  }
  if (config.maxConnections !== undefined || config.maxInFlight !== undefined) {
    // With --workers, each worker gets it from demo_worker.ts's export.
    config.priority = demoPriority;
  }
  const accessLog = flags["--access-log"]!;
  if (accessLog !== "") {
    if (
      accessLog !== "combined" && accessLog !== "common" && accessLog !== "json"
    ) {
      throw new TypeError(
        `Invalid --access-log ${accessLog}: expected combined, common or json`,
      );
    }
    config.accessLog = { format: accessLog };
    await configure({
      sinks: { access: getConsoleSink({ formatter: accessLineFormatter }) },
      loggers: [
        { category: ["quartz", "http", "access"], sinks: ["access"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
      ],
    });
  }
  const handshakeTimeoutMs = ms(flags, "--handshake-timeout");
  const tls = {
    certFile: flags["--cert"]!,
    keyFile: flags["--key"]!,
    ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
  };
  let server: HttpsServer | null = null;
  server = flags["--workers"] !== ""
    ? await startDemoWorkers(config, tls, Number(flags["--workers"]))
    : httpServeTlsOpts(
      config,
      tls,
      demoHandler(() => server!.stats(), () => server!.metricsText()),
    );
  const stopReloading = reloadOnSighup(server);
  console.log(HANDOVER_LINES[await certReloadHandover(server)]);
  const graceMs = Number(flags["--grace"]);
  const stop = (signal: Deno.Signal) => {
    console.log(`${signal}: draining for up to ${graceMs} ms`);
    server!.shutdown({ graceMs });
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  await server.finished;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  stopReloading();
  console.log("Stopped");
}
