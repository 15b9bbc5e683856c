// Building the handler's Request the way Deno.serve does. `new Request(url,
// init)` converts its init through WebIDL, parses the URL and copies every
// header into a Headers object: about 14 us of a Connection: close exchange,
// the largest single cost of our JavaScript. Deno.serve instead makes a
// branded Request around an inner record whose URL and Headers are built
// only when read. Deno exposes no API for that, so this module finds the
// pieces on probe objects by their symbols' descriptions and checks, once
// at load, that a Request made this way reads back exactly as a constructed
// one. If a Deno release changes that shape, every request takes the
// constructor path, as before (`fastRequestSupported` is then false, and a
// test says so).

import { type Info, linkSignal } from "./_conn_parts.ts";
import { keptByUrlParser } from "./_tokens.ts";

/** The pieces of Deno's Request internals this module relies on. */
interface Internals {
  /** WebIDL's brand: `new Request(brand)` makes an empty branded Request. */
  brand: symbol;
  /** The inner request record. */
  inner: symbol;
  /** The guard for the lazily made Headers. */
  guard: symbol;
  /** The internal signal getter (read by `clone()` and `fetch`). */
  signal: symbol;
  /** The inner record's url() and currentUrl(), generic over `this`. */
  url: () => string;
  currentUrl: () => string;
  /**
   * Deno's InnerBody: `new InnerBody(stream)` as the constructor makes for a
   * stream, `new InnerBody({ body, consumed: false })` for bytes.
   */
  InnerBody: new (
    source: ReadableStream<Uint8Array> | {
      body: Uint8Array;
      consumed: boolean;
    },
  ) => { source: unknown; length: number | null };
}

type Slots = Record<symbol, unknown>;

function ownSymbol(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) =>
    s.description === description
  );
}

function findInternals(): Internals | null {
  try {
    const probe = new Request("http://probe.invalid/", {
      method: "POST",
      body: new ReadableStream(),
      // @ts-ignore: `duplex` is required for stream bodies but not yet typed.
      duplex: "half",
    }) as unknown as Slots;
    const brand = ownSymbol(probe, "[[webidl.brand]]");
    const inner = ownSymbol(probe, "request");
    const guard = ownSymbol(probe, "headers guard");
    const signal = ownSymbol(Request.prototype, "signal");
    if (
      brand === undefined || inner === undefined || guard === undefined ||
      signal === undefined || probe[brand] !== brand
    ) return null;
    const record = probe[inner] as Record<string, unknown> | undefined;
    const body = record?.body as { constructor?: unknown } | undefined;
    if (
      typeof record?.url !== "function" ||
      typeof record.currentUrl !== "function" ||
      typeof body?.constructor !== "function"
    ) return null;
    return {
      brand,
      inner,
      guard,
      signal,
      url: record.url as () => string,
      currentUrl: record.currentUrl as () => string,
      InnerBody: body.constructor as Internals["InnerBody"],
    };
  } catch {
    return null;
  }
}

let found = findInternals();

/**
 * The inner record, with the fields of Deno's own (newInnerRequest). As in
 * Deno's, the header list and the URL are made when first read: most
 * handlers read neither in full, and each array made per request was garbage
 * to collect. Deno's url() and currentUrl() read the two URL lists.
 */
class InnerRequest {
  method: string;
  body: unknown;
  redirectMode = "follow";
  redirectCount = 0;
  clientRid = null;
  blobUrlEntry = null;
  #flat: readonly string[];
  #pairs: [string, string][] | null = null;
  #origin: string;
  #canonical: string;
  #path: string;
  #urlList: (() => string)[] | null = null;
  #processed: string[] | null = null;
  constructor(
    method: string,
    flat: readonly string[],
    body: unknown,
    origin: string,
    canonical: string,
    path: string,
  ) {
    this.method = method;
    this.#flat = flat;
    this.body = body;
    this.#origin = origin;
    this.#canonical = canonical;
    this.#path = path;
  }
  get headerList(): [string, string][] {
    return this.#pairs ??= pairsOf(this.#flat);
  }
  set headerList(list: [string, string][]) {
    this.#pairs = list;
  }
  get urlList(): (() => string)[] {
    // Serialised when first read; the path cannot fail once the host parsed.
    // Most paths come out of the URL parser as they went in: those skip it.
    const path = this.#path;
    const origin = this.#origin;
    const canonical = this.#canonical;
    return this.#urlList ??= [
      () =>
        keptByUrlParser(path) ? canonical + path : new URL(origin + path).href,
    ];
  }
  set urlList(list: (() => string)[]) {
    this.#urlList = list;
  }
  get urlListProcessed(): string[] {
    return this.#processed ??= [];
  }
  set urlListProcessed(list: string[]) {
    this.#processed = list;
  }
}
if (found !== null) {
  Object.assign(InnerRequest.prototype, {
    url: found.url,
    currentUrl: found.currentUrl,
  });
}

const INFO: unique symbol = Symbol("quartz.info");
const BRAND = found?.brand ?? Symbol("unused");
const SIGNAL = found?.signal ?? Symbol("unused");

/**
 * A Request whose `signal` is its exchange's `info.signal`, made only when
 * asked for (as Deno.serve's). Named Request, as it prints.
 */
const FastRequest = class Request extends globalThis.Request {
  [INFO]: Info;
  constructor(info: Info) {
    // WebIDL's brand as the only argument returns an empty branded Request.
    super(BRAND as unknown as string);
    this[INFO] = info;
  }
  override get signal(): AbortSignal {
    return this[INFO].signal;
  }
  // clone() and fetch() read the internal getter: the same signal.
  get [SIGNAL](): AbortSignal {
    return this[INFO].signal;
  }
};

// Printed as Request, like the requests it stands for.
Object.defineProperty(FastRequest, "name", { value: "Request" });

/** Methods that pass the constructor's normalisation unchanged. */
const PLAIN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
]);

/**
 * Hosts the URL parser accepted (the grammar check alone is not enough),
 * with the origin it serialises them to (lowercase, default port left out),
 * one map per scheme. Keyed by the host as parsed (a slice of the request
 * head): hashing the concatenated origin would copy it first, once per
 * request.
 */
const httpsHosts = new Map<string, string>();
const httpHosts = new Map<string, string>();
const VALID_HOSTS_MAX = 256;

/**
 * The origin `new URL()` makes of `origin` (scheme and host as sent).
 *
 * @throws {TypeError} For a host the URL parser refuses (IDNA, ports).
 */
function canonicalOrigin(scheme: string, host: string, origin: string): string {
  const hosts = scheme === "https://" ? httpsHosts : httpHosts;
  let canonical = hosts.get(host);
  if (canonical === undefined) {
    const url = new URL(origin + "/");
    canonical = url.protocol + "//" + url.host;
    if (hosts.size >= VALID_HOSTS_MAX) hosts.clear();
    hosts.set(host, canonical);
  }
  return canonical;
}

/**
 * The handler's Request: `scheme` ("http://" or "https://"), `host` and
 * `path` as parsed, `headers` flat [name, value, ...], `body` a stream or
 * null, or bytes when the whole body came with the head (then reading it
 * takes no stream: `bytes()`, `text()`, `json()` answer at once, as for a
 * Request constructed with a Uint8Array body). Its `signal` is
 * `info.signal`.
 *
 * @throws {TypeError} When the URL parser refuses the host.
 */
export function makeRequest(
  scheme: string,
  host: string,
  path: string,
  method: string,
  headers: readonly string[],
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null,
  info: Info,
): Request {
  const origin = scheme + host;
  if (found === null || !PLAIN_METHODS.has(method)) {
    return constructed(origin, path, method, headers, body, info);
  }
  const canonical = canonicalOrigin(scheme, host, origin);
  const request = new FastRequest(info) as unknown as Slots;
  request[found.inner] = new InnerRequest(
    method,
    headers,
    body === null ? null : innerBody(found, body),
    origin,
    canonical,
    path,
  );
  request[found.guard] = "request";
  return request as unknown as Request;
}

/** The inner body Deno's Request constructor makes for `body`. */
function innerBody(
  internals: Internals,
  body: ReadableStream<Uint8Array> | Uint8Array,
): unknown {
  if (body instanceof ReadableStream) return new internals.InnerBody(body);
  // As Deno's extractBody() for a BufferSource: the bytes, their source and
  // length (what clone() and fetch() read).
  const inner = new internals.InnerBody({ body, consumed: false });
  inner.source = body;
  inner.length = body.byteLength;
  return inner;
}

function pairsOf(headers: readonly string[]): [string, string][] {
  const pairs: [string, string][] = new Array(headers.length >> 1);
  for (let i = 0; i < headers.length; i += 2) {
    pairs[i >> 1] = [headers[i]!, headers[i + 1]!];
  }
  return pairs;
}

/** The public constructor's way, where the fast one is not available. */
function constructed(
  origin: string,
  path: string,
  method: string,
  flat: readonly string[],
  body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null,
  info: Info,
): Request {
  // GET is the default: leaving it out skips the method normalisation.
  const headers = pairsOf(flat);
  const init: RequestInit = method === "GET"
    ? { headers }
    : { method, headers };
  if (body instanceof Uint8Array) init.body = body;
  else if (body !== null) {
    init.body = body;
    // @ts-ignore: `duplex` is required for stream bodies but not yet typed.
    init.duplex = "half";
  }
  const request = new Request(origin + path, init);
  linkSignal(request, info);
  return request;
}

function derived(r: Request): unknown[] {
  return [r.url, r.method, [...r.headers], r.body instanceof ReadableStream];
}

/**
 * Makes one request each way and compares what a handler reads: URL,
 * method, headers, body, signal, clone. Any difference (or error) turns the
 * fast way off.
 */
function fastMatchesConstructed(): boolean {
  try {
    const controller = new AbortController();
    const info = { signal: controller.signal } as unknown as Info;
    const headers = ["Host", "Example.COM:443", "X-Two", "a", "x-two", "b"];
    const view = (fast: boolean) => {
      const body = new ReadableStream<Uint8Array>();
      const path = "/a/../b?q=%7e";
      const r = fast
        ? makeRequest(
          "https://",
          "Example.COM:443",
          path,
          "POST",
          headers,
          body,
          info,
        )
        : constructed(
          "https://Example.COM:443",
          path,
          "POST",
          headers,
          body,
          info,
        );
      const copy = r.clone();
      return JSON.stringify([
        r instanceof Request,
        r.url,
        r.method,
        [...r.headers],
        r.headers.get("X-TWO"),
        r.redirect,
        r.cache,
        r.mode,
        r.bodyUsed,
        r.body === body,
        r.signal === info.signal,
        copy.url,
        [...copy.headers],
        copy.body instanceof ReadableStream,
        r.body !== body,
        Deno.inspect(r),
        // What fetch(req) and a proxy's `new Request(req, init)` do.
        derived(new Request(copy)),
        derived(new Request(r.clone(), { method: "PUT", headers: { a: "b" } })),
      ]);
    };
    // A body that came whole with the head: the inner body must be the one
    // the constructor makes for bytes, read back the same way.
    const bytesView = (fast: boolean) => {
      const bytes = new Uint8Array([104, 105]);
      const r = fast
        ? makeRequest("https://", "a.example", "/", "PUT", headers, bytes, info)
        : constructed("https://a.example", "/", "PUT", headers, bytes, info);
      const inner = (r as unknown as Slots)[found!.inner] as { body: unknown };
      const shape = Deno.inspect(inner.body);
      const copy = r.clone();
      return JSON.stringify([
        shape,
        r.bodyUsed,
        copy.bodyUsed,
        r.body instanceof ReadableStream,
        r.body === r.body,
        r.bodyUsed,
        derived(new Request(copy)),
        Deno.inspect(r),
      ]);
    };
    return view(false) === view(true) && bytesView(false) === bytesView(true);
  } catch {
    return false;
  }
}

if (found !== null && !fastMatchesConstructed()) found = null;

/** Whether requests are made the fast way on this Deno (for tests). */
export const fastRequestSupported: boolean = found !== null;
