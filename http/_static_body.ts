// The body of a Response made from a string, bytes, JSON or form data is
// complete from the start, but the only public way to read it is `body`, a
// ReadableStream built on first access: the stream, its reader and two reads
// were the largest single cost of writing a small response (about a tenth of
// a Connection: close exchange). Deno keeps such a body as
// `{ body, consumed }` on the Response's inner record, which is what
// Deno.serve reads. We read it too, found by the symbols' descriptions and
// checked once at load: if a Deno release changes that shape, every
// response takes the stream path, as before.

interface StaticSource {
  body: unknown;
  consumed: unknown;
}

/** The inner record's key, or null when it is not there or not as expected. */
const RESPONSE: symbol | null = findInnerKey();

function findInnerKey(): symbol | null {
  try {
    const probe = new Response("probe");
    const key = Object.getOwnPropertySymbols(probe).find((s) =>
      s.description === "response"
    );
    if (key === undefined) return null;
    // Reading the headers makes Deno settle a lazily kept body.
    probe.headers.get("content-type");
    const text = sourceOf(probe, key);
    if (text?.body !== "probe" || text.consumed !== false) return null;
    const bytes = sourceOf(new Response(new Uint8Array([1, 2])), key);
    if (!(bytes?.body instanceof Uint8Array) || bytes.body.length !== 2) {
      return null;
    }
    // A stream body must never look complete.
    const streamed = new Response(new ReadableStream());
    streamed.headers.get("content-type");
    if (sourceOf(streamed, key) !== null) return null;
    // Marking it consumed must be what makes the body used.
    text.consumed = true;
    if (!probe.bodyUsed) return null;
    return key;
  } catch {
    return null;
  }
}

function sourceOf(res: Response, key: symbol): StaticSource | null {
  const inner = (res as unknown as Record<symbol, unknown>)[key] as
    | { body?: { streamOrStatic?: unknown } | null }
    | undefined;
  const held = inner?.body?.streamOrStatic;
  if (
    held === null || typeof held !== "object" ||
    held instanceof ReadableStream || !("consumed" in held) ||
    !("body" in held)
  ) return null;
  return held as StaticSource;
}

/**
 * The whole body of `res` when it was given as a string or bytes (not a
 * stream), marking it used as reading it would; null otherwise, or when it
 * is longer than `maxLength` (then left as it is). Call it after reading
 * `res.headers` and before `res.body`.
 */
export function takeStaticBody(
  res: Response,
  maxLength = Infinity,
): string | Uint8Array | null {
  if (RESPONSE === null) return null;
  // Taken by takeServeFastBody() before: Deno marks the record used only
  // when the body is next read, so ask the flag.
  if (FAST !== null && (res as unknown as Slots)[FAST.consumed] === true) {
    return null;
  }
  const source = sourceOf(res, RESPONSE);
  if (source === null || source.consumed !== false) return null;
  const body = source.body;
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return null;
  if (body.length > maxLength) return null;
  source.consumed = true;
  return body;
}

/**
 * Whether `res` was made with no body (`new Response(null)`), read without
 * making the body stream; false where not known.
 */
export function hasNullBody(res: Response): boolean {
  if (RESPONSE === null) return false;
  const inner = (res as unknown as Record<symbol, unknown>)[RESPONSE] as
    | { body?: unknown }
    | undefined;
  return inner?.body === null;
}

/** Whether the fast path is available on this Deno (for tests). */
export const staticBodySupported: boolean = RESPONSE !== null;

// A Response made from a string, bytes or JSON with no init keeps its status,
// body and content type in a few "serve fast" fields until someone reads its
// headers: Deno.serve writes those without ever making the Headers object,
// the header list or a body record. We read them too, checked the same way.

interface ServeFast {
  status: symbol;
  body: symbol;
  kind: symbol;
  contentType: symbol;
  consumed: symbol;
  /** The header kind of a string body and its content type. */
  textKind: unknown;
  textType: string;
}

type Slots = Record<symbol, unknown>;

/** The content type of the body readServeFast() last returned, or null. */
export let fastContentType: string | null = null;

const FAST: ServeFast | null = findServeFast();

function findServeFast(): ServeFast | null {
  try {
    const text = new Response("probe") as unknown as Slots;
    const sym = (d: string) =>
      Object.getOwnPropertySymbols(text).find((s) =>
        s.description === `serve fast ${d}`
      );
    const fast = {
      status: sym("status"),
      body: sym("body"),
      kind: sym("header kind"),
      contentType: sym("content type"),
      consumed: sym("consumed"),
    };
    if (Object.values(fast).some((s) => s === undefined)) return null;
    const f = fast as Record<keyof typeof fast, symbol>;
    const textType = new Response("probe").headers.get("content-type");
    if (
      text[f.status] !== 200 || text[f.body] !== "probe" ||
      text[f.consumed] !== false || textType === null
    ) return null;
    const found: ServeFast = { ...f, textKind: text[f.kind], textType };
    // Each shape must read back as its headers say, once materialised.
    const probes = [
      () => new Response("probe"),
      () => new Response(new Uint8Array([1, 2])),
      () => Response.json({ a: 1 }),
    ];
    for (const make of probes) {
      const fastOne = make();
      const whole = readServeFast(fastOne, found);
      const slow = make();
      if (
        whole === null || fastContentType !== slow.headers.get("content-type")
      ) {
        return null;
      }
      if ([...slow.headers].length !== (fastContentType === null ? 0 : 1)) {
        return null;
      }
      // Taking it must leave the response used, as reading it would.
      if (!fastOne.bodyUsed) return null;
    }
    // A response with an init or a stream has no fast fields set.
    const init = new Response("x", { headers: { "x-a": "1" } });
    if (readServeFast(init, found) !== null) return null;
    if (readServeFast(new Response(new ReadableStream()), found) !== null) {
      return null;
    }
    const read = new Response("x");
    read.headers.get("content-type");
    if (readServeFast(read, found) !== null) return null;
    return found;
  } catch {
    return null;
  }
}

function readServeFast(
  res: Response,
  fast: ServeFast,
  maxLength = Infinity,
): string | Uint8Array | null {
  const r = res as unknown as Slots;
  if (r[fast.status] !== 200 || r[fast.consumed] !== false) return null;
  const body = r[fast.body];
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return null;
  if (body.length > maxLength) return null;
  const kind = r[fast.kind];
  const type = r[fast.contentType];
  if (kind === fast.textKind) fastContentType = fast.textType;
  else if (typeof type === "string") fastContentType = type;
  else if (type === null && typeof body !== "string") fastContentType = null;
  else return null;
  r[fast.consumed] = true;
  return body;
}

/**
 * The whole body of a 200 response made from a string, bytes or JSON with
 * no init, whose headers nobody has read: its only header is then
 * `fastContentType` (set by this call). Marks the body used. Null otherwise,
 * or when the body is longer than `maxLength` (then left as it is).
 */
export function takeServeFastBody(
  res: Response,
  maxLength?: number,
): string | Uint8Array | null {
  return FAST === null ? null : readServeFast(res, FAST, maxLength);
}

/**
 * The response's header list, names as given (after `res.headers` was read,
 * so a lazily kept content type is in it), or null where not available.
 */
export function headerListOf(res: Response): [string, string][] | null {
  if (RESPONSE === null) return null;
  const inner = (res as unknown as Slots)[RESPONSE] as
    | { headerList?: unknown }
    | undefined;
  const list = inner?.headerList;
  return Array.isArray(list) ? list as [string, string][] : null;
}

/** Whether the serve-fast path is available on this Deno (for tests). */
export const serveFastSupported: boolean = FAST !== null;

// A Blob or FormData body is streamed, but Deno knows its size: the inner
// body record keeps it as `length` (null for a stream of unknown length).
// Deno.serve sends such a body chunked; its size is a Content-Length instead,
// so a client sees the download's size, and an HTTP/1.0 client's connection
// can stay open.

/** Whether the inner body's `length` reads as the body's size. */
const KNOWN_LENGTH: boolean = RESPONSE !== null && checkKnownLength(RESPONSE);

function innerLength(res: Response, key: symbol): number | null {
  const inner = (res as unknown as Slots)[key] as
    | { body?: { length?: unknown; streamOrStatic?: unknown } | null }
    | undefined;
  const length = inner?.body?.length;
  return typeof length === "number" && Number.isSafeInteger(length) &&
      length >= 0
    ? length
    : null;
}

function checkKnownLength(key: symbol): boolean {
  try {
    if (innerLength(new Response(new Blob(["abc"])), key) !== 3) return false;
    if (innerLength(new Response(new Blob([])), key) !== 0) return false;
    if (innerLength(new Response(new ReadableStream()), key) !== null) {
      return false;
    }
    const form = new FormData();
    form.set("a", "b");
    // The declared size must be the bytes the stream gives.
    const formLength = innerLength(new Response(form), key);
    return typeof formLength === "number" && formLength > 0;
  } catch {
    return false;
  }
}

/**
 * The byte size Deno recorded for a streamed body of known size (a Blob or
 * FormData), or -1: a stream of unknown length, or not available on this
 * Deno. Read it before `res.body`.
 */
export function knownBodyLength(res: Response): number {
  if (!KNOWN_LENGTH) return -1;
  return innerLength(res, RESPONSE!) ?? -1;
}

/** Whether knownBodyLength() is available on this Deno (for tests). */
export const knownLengthSupported: boolean = KNOWN_LENGTH;
