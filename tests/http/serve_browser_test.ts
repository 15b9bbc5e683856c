// A real browser as the client: headless Chromium loads pages from
// httpServeTlsOpts over TLS (ALPN offers h2 and http/1.1; we speak 1.1).
// Skipped, with the reason printed, where Chromium is not installed
// (`apt-get install -y chromium`).

import assert from "node:assert/strict";
import { startTls, toolVersion } from "./_helpers.ts";

const version = await toolVersion("chromium");
if (version === null) {
  console.log(
    "serve_browser_test: skipped, chromium is not installed (apt-get install -y chromium) or --allow-run lacks it",
  );
}

/** The page's DOM as Chromium renders it. */
async function dumpDom(url: string): Promise<string> {
  const out = await new Deno.Command("chromium", {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      // The test CA is not in Chromium's store; only loopback is contacted.
      "--ignore-certificate-errors",
      "--dump-dom",
      url,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success, `chromium exited with ${out.code}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name:
    "httpServeTlsOpts() serves headless Chromium a page and a streamed body over HTTP/1.1",
  ignore: version === null,
  fn: async () => {
    const seen: string[] = [];
    const server = startTls((req, info) => {
      const url = new URL(req.url);
      seen.push(`${req.method} ${url.pathname} ${info.alpnProtocol}`);
      if (url.pathname === "/stream") {
        const enc = new TextEncoder();
        return new Response(
          new ReadableStream({
            async pull(controller) {
              await new Promise((r) => setTimeout(r, 5));
              controller.enqueue(enc.encode("chunk "));
              if (seen.length > 0) controller.close();
            },
          }),
          { headers: { "content-type": "text/plain" } },
        );
      }
      if (url.pathname === "/") {
        return new Response(
          "<!doctype html><title>t</title><p id=p>hello browser</p>",
          { headers: { "content-type": "text/html" } },
        );
      }
      return new Response("not found", { status: 404 });
    });
    try {
      const base = `https://localhost:${server.addr.port}`;
      assert.match(await dumpDom(`${base}/`), /<p id="p">hello browser<\/p>/);
      assert.match(await dumpDom(`${base}/stream`), /chunk/);
      assert.ok(seen.includes("GET / http/1.1"), seen.join(", "));
      assert.ok(seen.includes("GET /stream http/1.1"), seen.join(", "));
      assert.ok(server.stats().requestsServed >= 2);
    } finally {
      await server.shutdown({ graceMs: 1_000 });
    }
  },
});
