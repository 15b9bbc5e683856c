// Benchmarks parseRequestHead() against a naive TextDecoder + split parse,
// and how req.url is made.
// Run: deno bench bench/parser_bench.ts
import { type ParseLimits, parseRequestHead } from "../http/_parser.ts";
import { keptByUrlParser } from "../http/_tokens.ts";

const LIMITS: ParseLimits = {
  maxHeaderBytes: 16384,
  maxHeaderCount: 100,
  maxUrlBytes: 8192,
  maxBodyBytes: 10 * 1024 * 1024,
};

const encoder = new TextEncoder();
const BROWSER_GET = encoder.encode(
  "GET /products/list?category=books&sort=price-asc&page=2 HTTP/1.1\r\n" +
    "Host: shop.example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.5\r\n" +
    "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
    "Referer: https://shop.example.com/products\r\n" +
    "Connection: keep-alive\r\n" +
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n" +
    "Upgrade-Insecure-Requests: 1\r\n" +
    "Sec-Fetch-Dest: document\r\n" +
    "\r\n",
);
const TINY_GET = encoder.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

const decoder = new TextDecoder();

/** What a quick hand-written parser does: decode, split, no validation. */
function naiveParse(buf: Uint8Array): Record<string, unknown> | null {
  const text = decoder.decode(buf);
  const endOfHead = text.indexOf("\r\n\r\n");
  if (endOfHead < 0) return null;
  const lines = text.slice(0, endOfHead).split("\r\n");
  const [method, target, version] = lines[0]!.split(" ");
  const headers: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    headers.push(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { method, target, version, headers, headBytes: endOfHead + 4 };
}

for (
  const [name, buf] of [["browser GET", BROWSER_GET], [
    "tiny GET",
    TINY_GET,
  ]] as const
) {
  Deno.bench({
    name: `naive TextDecoder + split (${name}, ${buf.length} B)`,
    group: name,
    baseline: true,
    fn() {
      if (naiveParse(buf) === null) throw new Error("Unexpected null");
    },
  });
  Deno.bench({
    name: `parseRequestHead (${name}, ${buf.length} B)`,
    group: name,
    fn() {
      if (parseRequestHead(buf, 0, buf.length, LIMITS) === null) {
        throw new Error("Unexpected null");
      }
    },
  });
  // A head that arrives in two reads: the first call returns null.
  const half = buf.length >> 1;
  Deno.bench({
    name: `parseRequestHead, head in two reads (${name})`,
    group: name,
    fn() {
      parseRequestHead(buf, 0, half, LIMITS);
      if (parseRequestHead(buf, 0, buf.length, LIMITS) === null) {
        throw new Error("Unexpected null");
      }
    },
  });
}

// req.url: a path the URL parser keeps as sent is joined to the host's
// canonical origin (cached per host) instead of going through `new URL()`.
const ORIGIN = "https://shop.example.com";
const PATHS = [
  "/",
  "/products/list?category=books&sort=price-asc&page=2",
  "/static/app.3f2a1b.js",
  "/search?q=hello%20world",
];
let urlLength = 0;
Deno.bench({
  name: "new URL(origin + path).href (4 paths)",
  group: "req.url",
  baseline: true,
  fn() {
    for (const p of PATHS) urlLength += new URL(ORIGIN + p).href.length;
  },
});
Deno.bench({
  name: "keptByUrlParser(path) ? origin + path (4 paths)",
  group: "req.url",
  fn() {
    for (const p of PATHS) {
      urlLength +=
        (keptByUrlParser(p) ? ORIGIN + p : new URL(ORIGIN + p).href).length;
    }
  },
});
