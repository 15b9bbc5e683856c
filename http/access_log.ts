import {
  type Config,
  getConfig,
  getLogger,
  type Logger,
  type LogRecord,
} from "@logtape/logtape";
import {
  escapeLogValue as escapeValue,
  formatCombined,
  formatCommon,
  formatJson,
} from "./_log_format.ts";

/**
 * The LogTape category access lines go to unless told otherwise.
 *
 * @example Routing access lines to a sink of their own
 * ```ts
 * import { ACCESS_LOG_CATEGORY, AccessLogger } from "@quartz/std/http";
 * import { configure, reset } from "@logtape/logtape";
 * import assert from "node:assert/strict";
 *
 * const lines: unknown[] = [];
 * await configure({
 *   sinks: { access: (record) => lines.push(record.message[0]) },
 *   loggers: [
 *     { category: [...ACCESS_LOG_CATEGORY], sinks: ["access"], parentSinks: "override" },
 *     { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
 *   ],
 * });
 * try {
 *   assert.deepEqual(ACCESS_LOG_CATEGORY, ["quartz", "http", "access"]);
 *   assert.equal(new AccessLogger().enabled, true); // a sink listens on the category
 * } finally {
 *   await reset();
 * }
 * ```
 */
export const ACCESS_LOG_CATEGORY: readonly string[] = Object.freeze([
  "quartz",
  "http",
  "access",
]);

/**
 * One finished response, as the server engine saw it. Unknown values are
 * `null` and print as `-`.
 *
 * @example Formatting one entry as an Apache combined line
 * ```ts
 * import { type AccessLogEntry, AccessLogger } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const entry: AccessLogEntry = {
 *   remoteAddr: "127.0.0.1",
 *   time: Date.UTC(2026, 0, 2, 3, 4, 5),
 *   method: "GET",
 *   target: "/index.html",
 *   protocol: "HTTP/1.1",
 *   requestLine: null,
 *   status: 200,
 *   bytesSent: 512,
 *   referer: null,
 *   userAgent: "curl/8.5.0",
 *   durationMs: 3,
 *   user: null,
 * };
 * assert.equal(
 *   new AccessLogger().format(entry),
 *   '127.0.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5.0"',
 * );
 * ```
 */
export interface AccessLogEntry {
  /** Peer address without port (`%h`), e.g. `"127.0.0.1"`. */
  remoteAddr: string | null;
  /** When the request arrived (`%t`), milliseconds since the epoch. */
  time: number;
  /** Request method, when parsed. */
  method: string | null;
  /** Request target as sent, when parsed. */
  target: string | null;
  /** Protocol as sent, e.g. `"HTTP/1.1"`, when parsed. */
  protocol: string | null;
  /**
   * The raw request line (`%r`) when the head could not be parsed into
   * method, target and protocol; decode bytes as latin1 so each byte is one
   * character. `null` when parsed or when nothing arrived.
   */
  requestLine: string | null;
  /** Status code sent (`%>s`). */
  status: number;
  /** Body bytes actually written (`%b`, printed `-` when 0). */
  bytesSent: number;
  /** `Referer` request header. */
  referer: string | null;
  /** `User-Agent` request header. */
  userAgent: string | null;
  /** Time from arrival to response finished, in milliseconds. */
  durationMs: number;
  /** Authenticated user (`%u`), `null` for `-`. */
  user: string | null;
}

/**
 * A LogTape severity level (the same strings as LogTape's `LogLevel`).
 *
 * @example Debug-level access lines stay off while the category logs from info up
 * ```ts
 * import { AccessLogger, type AccessLogLevel } from "@quartz/std/http";
 * import { configure, reset } from "@logtape/logtape";
 * import assert from "node:assert/strict";
 *
 * await configure({
 *   sinks: { access: () => {} },
 *   loggers: [
 *     { category: ["quartz", "http", "access"], lowestLevel: "info", sinks: ["access"] },
 *     { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
 *   ],
 * });
 * try {
 *   const level: AccessLogLevel = "debug";
 *   assert.equal(new AccessLogger({ level }).enabled, false);
 *   assert.equal(new AccessLogger({ level: "info" }).enabled, true);
 * } finally {
 *   await reset();
 * }
 * ```
 */
export type AccessLogLevel =
  | "trace"
  | "debug"
  | "info"
  | "warning"
  | "error"
  | "fatal";

/**
 * A built-in line format or a function returning the line.
 *
 * @example A custom line: method, target, status and duration
 * ```ts
 * import { type AccessLogFormat, AccessLogger, escapeLogValue } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * // A function's line is logged as is: escape what the client sent.
 * const format: AccessLogFormat = (e) =>
 *   `${e.method ?? "-"} ${escapeLogValue(e.target ?? "-")} ${e.status} ${e.durationMs}ms`;
 *
 * const line = new AccessLogger({ format }).format({
 *   remoteAddr: "127.0.0.1", time: 0, method: "GET", target: '/search?q="x"',
 *   protocol: "HTTP/1.1", requestLine: null, status: 404, bytesSent: 0,
 *   referer: null, userAgent: null, durationMs: 4, user: null,
 * });
 * assert.equal(line, 'GET /search?q=\\"x\\" 404 4ms');
 * ```
 */
export type AccessLogFormat =
  | "combined"
  | "common"
  | "json"
  | ((entry: AccessLogEntry) => string);

/**
 * Options for {@linkcode AccessLogger}.
 *
 * @example JSON lines under the application's own category
 * ```ts
 * import { AccessLogger, type AccessLogOptions, type HttpServerOptions } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const accessLog: AccessLogOptions = { format: "json", category: ["shop", "access"], level: "info" };
 * // The same options turn on the server's access log.
 * const config: HttpServerOptions = { port: 8080, accessLog };
 *
 * const line = new AccessLogger(accessLog).format({
 *   remoteAddr: "127.0.0.1", time: 0, method: "POST", target: "/cart",
 *   protocol: "HTTP/1.1", requestLine: null, status: 201, bytesSent: 17,
 *   referer: null, userAgent: null, durationMs: 12, user: null,
 * });
 * assert.equal(JSON.parse(line).status, 201);
 * assert.equal(config.accessLog, accessLog);
 * ```
 */
export interface AccessLogOptions {
  /**
   * `"combined"` (Apache `%h %l %u %t "%r" %>s %b "%{Referer}i"
   * "%{User-agent}i"`), `"common"`, `"json"` (one object per line), or a
   * function. A function's output is logged as is: escape request values
   * with {@linkcode escapeLogValue}.
   *
   * @default {"combined"}
   */
  format?: AccessLogFormat;
  /**
   * The LogTape category; configure a sink for it (or a parent) to get lines.
   *
   * @default {["quartz", "http", "access"]}
   */
  category?: readonly string[];
  /**
   * The LogTape level of access records.
   *
   * @default {"info"}
   */
  level?: AccessLogLevel;
}

/**
 * Writes one access line per finished response through LogTape. With no
 * sink enabled for its category, {@linkcode AccessLogger.enabled} is `false`
 * and {@linkcode AccessLogger.log} returns before formatting anything.
 *
 * The record's message is the line; its properties are the entry's fields.
 * To write a file, register {@linkcode getAccessLogSink} for the category
 * with `parentSinks: "override"`: about 1 µs per request in all, where
 * LogTape's non-blocking `getStreamSink()` copies every record first and
 * costs several times that.
 *
 * @example Log to an in-memory sink
 * ```ts
 * import { AccessLogger } from "@quartz/std/http";
 * import { configure, reset, type LogRecord } from "@logtape/logtape";
 * import assert from "node:assert/strict";
 *
 * const records: LogRecord[] = [];
 * await configure({
 *   sinks: { mem: (r) => records.push(r) },
 *   loggers: [
 *     { category: ["quartz", "http", "access"], sinks: ["mem"] },
 *     { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
 *   ],
 * });
 * try {
 *   const access = new AccessLogger({ format: "common" });
 *   access.log({
 *     remoteAddr: "127.0.0.1", time: 0, method: "GET", target: "/",
 *     protocol: "HTTP/1.1", requestLine: null, status: 200, bytesSent: 5,
 *     referer: null, userAgent: null, durationMs: 1, user: null,
 *   });
 *   assert.equal(
 *     records[0]?.message[0],
 *     '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 5',
 *   );
 * } finally {
 *   await reset();
 * }
 * ```
 */
export class AccessLogger {
  #logger: Logger;
  #level: AccessLogLevel;
  #format: (entry: AccessLogEntry) => string;
  #category: readonly string[];
  // The answer of isEnabledFor() for one LogTape configuration object.
  #seenConfig: Config<string, string> | null = null;
  #seenEnabled = false;

  /**
   * Creates a logger; it may be created before LogTape is configured.
   *
   * @param options Format, category and level.
   * @throws {TypeError} If `format` is not a known format or a function.
   */
  constructor(options: AccessLogOptions = {}) {
    const format = options.format ?? "combined";
    if (typeof format === "function") this.#format = format;
    else if (format === "combined") this.#format = formatCombined;
    else if (format === "common") this.#format = formatCommon;
    else if (format === "json") this.#format = formatJson;
    else throw new TypeError(`Unknown access log format: "${String(format)}"`);
    this.#category = [...(options.category ?? ACCESS_LOG_CATEGORY)];
    this.#logger = getLogger(this.#category);
    this.#level = options.level ?? "info";
  }

  /**
   * Whether a sink would receive the line now; check it before collecting
   * the entry's fields so a server with logging off does no work. The
   * answer is cached per LogTape configuration (`configure()`/`reset()`
   * start a new one; a config object changed in place is not seen) unless
   * `contextLocalStorage` is configured, since `withConfig()` and
   * `withCategoryPrefix()` can then change it per call.
   */
  get enabled(): boolean {
    const config = getConfig();
    if (config === null) return false;
    if (config === this.#seenConfig) return this.#seenEnabled;
    const enabled = this.#logger.isEnabledFor(this.#level);
    if (config.contextLocalStorage === undefined) {
      this.#seenConfig = config;
      this.#seenEnabled = enabled;
    }
    return enabled;
  }

  /**
   * Formats an entry without logging it.
   *
   * @param entry The finished response.
   * @returns The line, without a trailing newline.
   */
  format(entry: AccessLogEntry): string {
    return this.#format(entry);
  }

  /**
   * Logs one line for a finished response; a no-op when not enabled. The
   * record keeps `entry` as its properties: pass a fresh object, not one
   * reused for the next request.
   *
   * @param entry The finished response.
   */
  log(entry: AccessLogEntry): void {
    if (!this.enabled) return;
    const line = this.#format(entry);
    // emit() skips LogTape's template parsing: braces in a URL stay literal.
    // A record that carries its category skips a copy inside emit().
    const record: LogRecord = {
      category: this.#category,
      level: this.#level,
      message: [line],
      rawMessage: line,
      timestamp: Date.now(),
      properties: entry as unknown as Record<string, unknown>,
    };
    this.#logger.emit(record);
  }
}

/**
 * Escapes a request value for an access line: `"` and `\` get a backslash,
 * control and non-ASCII bytes become `\xhh` (`\n`, `\r`, `\t`, `\b`, `\v`
 * as in Apache), so no request can forge or break a line.
 *
 * @example Escape a hostile user agent
 * ```ts
 * import { escapeLogValue } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeLogValue('a"\n\x1b'), 'a\\"\\n\\x1b');
 * ```
 *
 * @param value The raw value; bytes decoded as latin1 map one to one.
 * @returns The escaped value (the same string when nothing needed escaping).
 */
export function escapeLogValue(value: string): string {
  return escapeValue(value);
}

/**
 * A LogTape text formatter that prints only the access line and a newline,
 * for `getStreamSink()` or a file sink that should hold a plain access log
 * ({@linkcode getAccessLogSink} uses it by default).
 *
 * @example A plain access log on stdout
 * ```ts ignore
 * import { accessLineFormatter } from "@quartz/std/http";
 * import { configure, getStreamSink } from "@logtape/logtape";
 *
 * await configure({
 *   sinks: {
 *     access: getStreamSink(Deno.stdout.writable, {
 *       formatter: accessLineFormatter,
 *     }),
 *   },
 *   loggers: [{ category: ["quartz", "http", "access"], sinks: ["access"] }],
 * });
 * ```
 *
 * @param record A record from {@linkcode AccessLogger}.
 * @returns The line followed by `\n`.
 */
export function accessLineFormatter(record: {
  readonly message: readonly unknown[];
  readonly rawMessage: string | TemplateStringsArray;
}): string {
  const raw = record.rawMessage;
  return (typeof raw === "string" ? raw : record.message.join("")) + "\n";
}
