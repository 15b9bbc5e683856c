// Validated, defaulted server configuration shared by every connection.

import type {
  HttpServeHandler,
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
  for (const name of ["onListen", "onError"] as const) {
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
      1000,
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
  };
}
