// The demo application of `deno task serve`.

import type { HttpServeHandler, HttpServerStats } from "../http/mod.ts";

const encoder = new TextEncoder();

/**
 * Builds the demo handler: `GET /` (text; other methods get 405 with
 * `Allow`, so `OPTIONS /` gets the engine's 204), `/echo` (any method: echoes the
 * body and its content type), `/stream?n=&ms=` (a stream of n lines, ms apart),
 * `/sleep?ms=` (answers after ms, or stops when the client leaves) and
 * `/healthz` (the server's stats as JSON) and `/metrics` (the Prometheus
 * text).
 *
 * @param stats Reads the running server's stats.
 * @param metrics Renders the running server's metrics text.
 * @returns The handler.
 *
 * @example Call the handler directly
 * ```ts
 * import { demoHandler } from "./demo.ts";
 *
 * const handler = demoHandler(() => ({}) as never);
 * const info = { signal: new AbortController().signal } as never;
 * const res = await handler(new Request("https://localhost/"), info);
 * console.log(await res.text());
 * ```
 */
export function demoHandler(
  stats: () => HttpServerStats,
  metrics: () => string = () => "",
): HttpServeHandler {
  return async (req, info) => {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/":
        if (req.method !== "GET" && req.method !== "HEAD") {
          // RFC 9110 s15.5.6: a 405 lists the methods the resource has; the
          // engine turns it into 204 + this Allow for OPTIONS.
          return new Response("Method Not Allowed\n", {
            status: 405,
            headers: { allow: "GET, HEAD" },
          });
        }
        return new Response("Hello from @quartz/std httpServeTlsOpts\n");
      case "/echo":
        return new Response(req.body, {
          headers: {
            "content-type": req.headers.get("content-type") ??
              "application/octet-stream",
          },
        });
      case "/stream": {
        const n = Math.min(Number(url.searchParams.get("n") ?? "10") || 0, 1e6);
        // Lines `ms` apart: a body that is all there at once goes out with a
        // Content-Length, one that comes apart in time is sent chunked.
        const ms = Math.min(
          Number(url.searchParams.get("ms") ?? "0") || 0,
          1e4,
        );
        let i = 0;
        let timer: ReturnType<typeof setTimeout> | undefined;
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              if (i >= n) return controller.close();
              if (ms > 0 && i > 0) {
                await new Promise((resolve) => timer = setTimeout(resolve, ms));
              }
              controller.enqueue(encoder.encode(`line ${i++}\n`));
            },
            cancel() {
              clearTimeout(timer);
            },
          }),
          { headers: { "content-type": "text/plain; charset=utf-8" } },
        );
      }
      case "/sleep": {
        const ms = Math.min(
          Number(url.searchParams.get("ms") ?? "1000") || 0,
          600_000,
        );
        const signal = info.signal;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(done, ms);
          function done() {
            signal.removeEventListener("abort", abort);
            resolve();
          }
          function abort() {
            clearTimeout(timer);
            reject(signal.reason);
          }
          signal.addEventListener("abort", abort, { once: true });
        });
        return new Response(`Slept ${ms} ms\n`);
      }
      case "/healthz":
        return Response.json(stats());
      case "/metrics":
        return new Response(metrics(), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
    }
    return new Response("Not Found\n", { status: 404 });
  };
}
