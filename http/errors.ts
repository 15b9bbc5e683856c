/**
 * Machine-readable reason of an {@linkcode HttpError}, one per HTTP status the
 * server answers on its own (before or instead of a handler).
 *
 * @example Friendlier titles for an error page, by code
 * ```ts
 * import { HttpError, type HttpErrorCode } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const titles: Partial<Record<HttpErrorCode, string>> = {
 *   payload_too_large: "The upload is too large",
 *   uri_too_long: "The address is too long",
 * };
 * const error = new HttpError(413, "payload_too_large", "Content-Length 5242880 exceeds 1048576");
 * assert.equal(titles[error.code] ?? error.message, "The upload is too large");
 * ```
 */
export type HttpErrorCode =
  | "bad_request"
  | "method_not_allowed"
  | "request_timeout"
  | "payload_too_large"
  | "uri_too_long"
  | "expectation_failed"
  | "header_fields_too_large"
  | "not_implemented"
  | "version_not_supported";

/**
 * An HTTP protocol error: the request cannot be served and the server answers
 * `status` (then closes the connection). Thrown by the request parser and the
 * chunked decoder.
 *
 * @example Answer a parse error
 * ```ts
 * import { HttpError } from "@quartz/std/http";
 *
 * const error = new HttpError(431, "header_fields_too_large", "Header count 101 exceeds 100");
 * console.log(error.status, error.code); // 431 header_fields_too_large
 * ```
 */
export class HttpError extends Error {
  /** Always `"HttpError"`. */
  override readonly name: string = "HttpError";
  /** The HTTP status code to answer with (400-599). */
  readonly status: number;
  /** A stable machine-readable reason. */
  readonly code: HttpErrorCode;

  /**
   * Creates an HTTP error.
   *
   * @param status The HTTP status code to answer with, an integer in 400-599.
   * @param code A stable machine-readable reason.
   * @param message A human-readable description naming the wrong value.
   * @param options `cause`: the error that led to this one.
   * @throws {RangeError} If `status` is not an integer in 400-599.
   */
  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`Invalid HTTP error status ${status}`);
    }
    super(message, options);
    this.status = status;
    this.code = code;
  }
}
