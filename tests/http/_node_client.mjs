// A Node.js client run by serve_node_client_test.ts: node:https with a
// keep-alive agent, and Node's fetch (undici). Prints what it saw as JSON.
// Usage: node _node_client.mjs PORT CA_FILE (NODE_EXTRA_CA_CERTS for fetch).

import https from "node:https";
import { readFileSync } from "node:fs";

const port = Number(process.argv[2]);
const ca = readFileSync(process.argv[3]);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });

/** One request through `options`; resolves with what the client observed. */
function request(path, options = {}, write) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: "localhost",
      port,
      path,
      agent,
      ...options,
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          chunks: chunks.length,
          reused: req.reusedSocket,
          continued,
        }));
      res.on("error", reject);
    });
    let continued = false;
    req.on("continue", () => {
      continued = true;
      req.end("sent after 100");
    });
    req.on("error", reject);
    if (write) write(req);
    else req.end();
  });
}

const out = {};
out.sequential = [];
for (let i = 0; i < 3; i++) out.sequential.push(await request("/echo?i=" + i));
// No Content-Length: Node sends the body chunked.
out.chunkedUpload = await request(
  "/echo",
  { method: "POST", headers: { "content-type": "text/x-node" } },
  (req) => {
    req.write("part one, ");
    setTimeout(() => req.end("part two"), 20);
  },
);
out.expectContinue = await request(
  "/echo",
  {
    method: "PUT",
    headers: { expect: "100-continue", "content-length": "14" },
  },
  () => {},
);
out.head = await request("/stream?n=3", { method: "HEAD" });
out.stream = await request("/stream?n=200");
// Without an agent, Node asks for the connection to close.
out.close = await request("/echo", { agent: false, ca });
agent.destroy();

// Node's fetch (undici), trusting the CA through NODE_EXTRA_CA_CERTS.
const base = `https://localhost:${port}`;
const fetched = await fetch(`${base}/echo`, {
  method: "POST",
  body: new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode("streamed "));
      c.enqueue(new TextEncoder().encode("by fetch"));
      c.close();
    },
  }),
  duplex: "half",
});
out.fetchStream = { status: fetched.status, body: await fetched.text() };
const many = await Promise.all(
  Array.from(
    { length: 20 },
    (_, i) =>
      fetch(`${base}/echo?n=${i}`, { method: "POST", body: `n=${i}` })
        .then(async (r) => ({ status: r.status, body: await r.text() })),
  ),
);
out.fetchParallel = many;
console.log(JSON.stringify(out));
