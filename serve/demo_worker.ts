// The worker module of `deno task serve --workers N`: the demo app, served
// by each worker, and the priority the single-process server uses. /healthz
// names the worker (its stats live in the main thread's collectStats()).

import type { HttpServeHandler } from "../http/mod.ts";
import { demoHandler } from "./demo.ts";

const name = (globalThis as unknown as { name?: string }).name ?? "main";

const demo = demoHandler(() => {
  throw new Error("Unreachable: /healthz is answered by the worker module");
});

/**
 * The demo handler with `/healthz` answering `{ "worker": name }`.
 *
 * @param req The request.
 * @param info Addresses, signal and index.
 * @returns The response.
 *
 * @example Call it directly
 * ```ts
 * import { handler } from "./demo_worker.ts";
 *
 * const info = { signal: new AbortController().signal } as never;
 * const res = await handler(new Request("https://localhost/healthz"), info);
 * console.log(await res.json());
 * ```
 */
export const handler: HttpServeHandler = (req, info) => {
  if (new URL(req.url).pathname === "/healthz") {
    return Response.json({ worker: name });
  }
  return demo(req, info);
};

/**
 * The demo's priority classes: `/healthz` and `/metrics` are critical
 * (served while the rest is shed), the rest normal. Used only when shedding
 * is configured (`--max-connections`, `--max-in-flight`).
 *
 * @param req The request.
 * @returns Its class.
 *
 * @example Classify a health check
 * ```ts
 * import { priority } from "./demo_worker.ts";
 *
 * console.log(priority(new Request("https://localhost/healthz")));
 * ```
 */
export function priority(req: Request): "critical" | "normal" | "low" {
  const path = new URL(req.url).pathname;
  return path === "/healthz" || path === "/metrics" ? "critical" : "normal";
}
