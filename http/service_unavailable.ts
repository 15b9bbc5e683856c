/**
 * Options for {@linkcode serviceUnavailableResponse}.
 *
 * @example A 503 with a body that keeps the connection open
 * ```ts
 * import { serviceUnavailableResponse, type ServiceUnavailableOptions } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const options: ServiceUnavailableOptions = { body: "Busy, retry soon", keepAlive: true };
 * const text = new TextDecoder().decode(serviceUnavailableResponse(5, options));
 * assert.match(text, /\r\nContent-Length: 16\r\n/);
 * assert.ok(!text.includes("Connection: close"));
 * assert.ok(text.endsWith("\r\n\r\nBusy, retry soon"));
 * ```
 */
export interface ServiceUnavailableOptions {
  /**
   * A short plain-text body; the empty default sends `Content-Length: 0`.
   *
   * @default {""}
   */
  body?: string;
  /**
   * Leaves out `Connection: close`, so an HTTP/1.1 client may send its next
   * request on the same connection: a refused request then costs the client
   * no new TLS handshake.
   *
   * @default {false}
   */
  keepAlive?: boolean;
}

let cachedKey = "";
let cachedBytes = new Uint8Array();
const encoder = new TextEncoder();

/**
 * The complete bytes of a minimal `503 Service Unavailable` response with
 * `Date`, `Content-Length`, `Retry-After` and `Connection: close` (unless
 * `keepAlive`), for the
 * engine to write in one write (one TLS record, no Nagle stall) without
 * building a `Response`. The result is cached per second and must not be
 * modified.
 *
 * @example Shed a request
 * ```ts
 * import { serviceUnavailableResponse } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const text = new TextDecoder().decode(serviceUnavailableResponse(2));
 * assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
 * assert.match(text, /\r\nRetry-After: 2\r\n/);
 * ```
 *
 * @param retryAfterSeconds The `Retry-After` value, e.g.
 *   {@linkcode LoadShedder.retryAfterSeconds}.
 * @param options An optional body.
 * @returns The response bytes (head and body).
 * @throws {RangeError} If `retryAfterSeconds` is not a non-negative integer.
 */
export function serviceUnavailableResponse(
  retryAfterSeconds: number,
  options: ServiceUnavailableOptions = {},
): Uint8Array {
  if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new RangeError(
      `Retry-After must be a non-negative integer: ${retryAfterSeconds}`,
    );
  }
  const body = options.body ?? "";
  const second = Math.floor(Date.now() / 1000);
  const keepAlive = options.keepAlive ?? false;
  const key = `${second} ${retryAfterSeconds} ${keepAlive} ${body}`;
  if (key === cachedKey) return cachedBytes;
  const bodyBytes = encoder.encode(body);
  const head = "HTTP/1.1 503 Service Unavailable\r\n" +
    `Date: ${new Date(second * 1000).toUTCString()}\r\n` +
    (body === "" ? "" : "Content-Type: text/plain; charset=utf-8\r\n") +
    `Content-Length: ${bodyBytes.length}\r\n` +
    `Retry-After: ${retryAfterSeconds}\r\n` +
    (keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
  const headBytes = encoder.encode(head);
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  cachedKey = key;
  cachedBytes = out;
  return out;
}
