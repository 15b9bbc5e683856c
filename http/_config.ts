// Validated, defaulted server configuration shared by every connection.

import { AccessLogger } from "./access_log.ts";
import { LoadShedder } from "./load_shed.ts";
import { ServerMetrics } from "./metrics.ts";
import type {
  HttpServeHandler,
  HttpServeHandlerInfo,
  HttpServerHooks,
  HttpServerOptions,
} from "./options.ts";

/** The engine's resolved configuration. */
export interface ServerConfig {
  hostname: string;
  port: number;
  keepAliveTimeoutMs: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  writeTimeoutMs: number;
  maxRequestsPerConnection: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxUrlBytes: number;
  maxBodyBytes: number;
  /** Unread request body drained before the next request; more: close. */
  maxDrainBytes: number;
  /** Longest wait for the client to close after our last response. */
  lingerMs: number;
  onListen: ((addr: Deno.NetAddr) => void) | null;
  onError: ((error: unknown) => Response | Promise<Response> | void) | null;
  hooks: HttpServerHooks;
  handler: HttpServeHandler;
  /** The server's counters, always kept (a few field updates per request). */
  metrics: ServerMetrics;
  /** Admission control; null when no limit is configured. */
  shedder: LoadShedder | null;
  priority: ((request: Request, info: HttpServeHandlerInfo) => string) | null;
  /** Null when access logging is off: then no entry is ever built. */
  accessLog: AccessLogger | null;
}

/** Builds the load shedder the options ask for, sharing the metrics. */
function shedderFor(
  options: HttpServerOptions,
  metrics: ServerMetrics,
): LoadShedder | null {
  const adaptive = options.adaptiveShedding ?? false;
  if (
    options.maxConnections === undefined &&
    options.maxInFlight === undefined && adaptive === false
  ) return null;
  const before = options.shedBeforeHandshake;
  if (before !== undefined && typeof before !== "boolean") {
    throw new TypeError(
      `Invalid shedBeforeHandshake ${String(before)}: expected a boolean`,
    );
  }
  const retry = count("retryAfterSeconds", options.retryAfterSeconds, 1, 0);
  return new LoadShedder({
    maxConnections: options.maxConnections ?? Infinity,
    shedBeforeHandshake: before ?? true,
    // Without maxInFlight, adaptive mode adapts the limit itself.
    ...(options.maxInFlight !== undefined || adaptive === false
      ? { maxInFlight: options.maxInFlight ?? Infinity }
      : {}),
    maxQueueMs: options.maxQueueMs ?? 1000,
    adaptive,
    retryAfterSeconds: retry,
    metrics,
  });
}

function duration(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Invalid ${name} ${String(value)}: expected a positive finite number`,
    );
  }
  return value;
}

function count(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < min
  ) {
    throw new RangeError(
      `Invalid ${name} ${String(value)}: expected an integer >= ${min}`,
    );
  }
  return value;
}

/**
 * Checks the options and fills in the defaults.
 *
 * @throws {TypeError} If the handler or a callback is not a function.
 * @throws {RangeError} If a number is out of range.
 */
export function resolveConfig(
  options: HttpServerOptions,
  handler: HttpServeHandler,
): ServerConfig {
  if (typeof handler !== "function") {
    throw new TypeError(
      `Invalid handler ${String(handler)}: expected a function`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Invalid options ${String(options)}: expected an object`,
    );
  }
  for (const name of ["onListen", "onError", "priority"] as const) {
    const fn = options[name];
    if (fn !== undefined && typeof fn !== "function") {
      throw new TypeError(`Invalid ${name} ${String(fn)}: expected a function`);
    }
  }
  if (
    options.signal !== undefined && !(options.signal instanceof AbortSignal)
  ) {
    throw new TypeError(
      `Invalid signal ${String(options.signal)}: expected an AbortSignal`,
    );
  }
  const metrics = new ServerMetrics();
  const accessLog = options.accessLog ?? false;
  const hostname = options.hostname ?? "0.0.0.0";
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(`Invalid hostname ${String(hostname)}`);
  }
  return {
    hostname,
    port: count("port", options.port, 8000, 0),
    keepAliveTimeoutMs: duration(
      "keepAliveTimeoutMs",
      options.keepAliveTimeoutMs,
      5_000,
    ),
    headerTimeoutMs: duration(
      "headerTimeoutMs",
      options.headerTimeoutMs,
      60_000,
    ),
    bodyTimeoutMs: duration("bodyTimeoutMs", options.bodyTimeoutMs, 60_000),
    writeTimeoutMs: duration("writeTimeoutMs", options.writeTimeoutMs, 60_000),
    maxRequestsPerConnection: count(
      "maxRequestsPerConnection",
      options.maxRequestsPerConnection,
      0,
      0,
    ),
    maxHeaderBytes: count("maxHeaderBytes", options.maxHeaderBytes, 16384, 64),
    maxHeaderCount: count("maxHeaderCount", options.maxHeaderCount, 100, 1),
    maxUrlBytes: count("maxUrlBytes", options.maxUrlBytes, 8192, 1),
    maxBodyBytes: count("maxBodyBytes", options.maxBodyBytes, 1_048_576, 0),
    maxDrainBytes: 65_536,
    lingerMs: 2_000,
    onListen: options.onListen ?? null,
    onError: options.onError ?? null,
    hooks: options.hooks ?? {},
    handler,
    metrics,
    shedder: shedderFor(options, metrics),
    priority: options.priority ?? null,
    accessLog: accessLog === false
      ? null
      : new AccessLogger(accessLog === true ? {} : accessLog),
  };
}
