// The worker module of `deno task serve --workers N`: the demo app, served
// by each worker. /healthz names the worker (its stats live in the main
// thread's collectStats()).

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
