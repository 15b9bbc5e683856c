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
 * stream), marking it used as reading it would; null otherwise. Call it
 * after reading `res.headers` and before `res.body`.
 */
export function takeStaticBody(res: Response): string | Uint8Array | null {
  if (RESPONSE === null) return null;
  const source = sourceOf(res, RESPONSE);
  if (source === null || source.consumed !== false) return null;
  const body = source.body;
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return null;
  source.consumed = true;
  return body;
}

/** Whether the fast path is available on this Deno (for tests). */
export const staticBodySupported: boolean = RESPONSE !== null;
