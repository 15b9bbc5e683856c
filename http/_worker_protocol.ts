// Messages between the pool of httpServeTlsWorkers and its workers, and the
// merge of the workers' stats.

import type { HttpsReloadOptions } from "./cert_reload.ts";
import type { HttpServerOptions, HttpsTlsConfig } from "./options.ts";
import type { HttpServerStats } from "./server.ts";
import type { WireRecord } from "./_worker_log.ts";

/** From the pool to a worker. */
export type ToWorker =
  | {
    type: "start";
    module: string;
    config: HttpServerOptions;
    tls: HttpsTlsConfig;
  }
  | { type: "stats"; seq: number }
  | { type: "reload"; seq: number; options: HttpsReloadOptions }
  | { type: "shutdown"; graceMs: number };

/** An error as it crosses to the pool. */
export interface ErrorData {
  name: string;
  message: string;
}

/** From a worker to the pool. */
export type FromWorker =
  | { type: "listening"; addr: Deno.NetAddr; stats: HttpServerStats }
  | { type: "stats"; seq: number; stats: HttpServerStats }
  | { type: "reloaded"; seq: number; error: ErrorData | null }
  | { type: "finished"; stats: HttpServerStats }
  | { type: "log"; records: WireRecord[] }
  | { type: "failed"; error: ErrorData };

/** The name and message of an error, which survive postMessage. */
export function errorData(error: unknown): ErrorData {
  if (error instanceof Error) {
    return { name: error.name, message: error.message };
  }
  return { name: "Error", message: String(error) };
}

/** An error rebuilt from a worker's report; TypeErrors stay TypeErrors. */
export function errorFrom(data: ErrorData): Error {
  if (data.name === "TypeError") return new TypeError(data.message);
  if (data.name === "RangeError") return new RangeError(data.message);
  const error = new Error(data.message);
  error.name = data.name;
  return error;
}

type Tree = number | string | boolean | null | Tree[] | { [k: string]: Tree };

function add(a: Tree, b: Tree, key: string): Tree {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (Array.isArray(a) && Array.isArray(b)) {
    // Histogram bounds are equal in every worker: keep them, sum the rest.
    if (key.startsWith("bounds")) return a;
    return a.map((v, i) => add(v, b[i] ?? 0, key));
  }
  if (
    a !== null && b !== null && typeof a === "object" && typeof b === "object"
  ) {
    const out: { [k: string]: Tree } = {};
    const bb = b as { [k: string]: Tree };
    for (const [k, v] of Object.entries(a)) {
      out[k] = k in bb ? add(v, bb[k]!, k) : v;
    }
    return out;
  }
  return a;
}

/**
 * Sums the workers' stats field by field (gauges too: a fleet total), so it
 * holds whatever counters the engine reports.
 */
export function mergeStats(all: readonly HttpServerStats[]): HttpServerStats {
  let out = all[0] as unknown as Tree;
  for (let i = 1; i < all.length; i++) {
    out = add(out, all[i] as unknown as Tree, "");
  }
  return out as unknown as HttpServerStats;
}
