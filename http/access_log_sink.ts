import { accessLineFormatter, type AccessLogLevel } from "./access_log.ts";
import { LineBatcher } from "./_line_batcher.ts";

// LogTape copies every record (property descriptors and all) before handing
// it to a sink that might keep it, which costs more than formatting the
// access line. This sink formats each record before it returns, so it opts
// out the way LogTape's own blocking stream sink does.
const IMMEDIATE_SINK = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");

/**
 * A LogTape `LogRecord` as the sink reads it (the same fields, so LogTape
 * formatters fit `formatter`).
 *
 * @example A formatter that prefixes each line with its time and level
 * ```ts
 * import { type AccessLogSinkRecord, getAccessLogSink } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * function formatter(record: AccessLogSinkRecord): string {
 *   const time = new Date(record.timestamp).toISOString();
 *   return `${time} ${record.level.toUpperCase()} ${String(record.rawMessage)}\n`;
 * }
 *
 * const written: string[] = [];
 * const stream = new WritableStream<Uint8Array>({
 *   write(chunk) {
 *     written.push(new TextDecoder().decode(chunk));
 *   },
 * });
 * await using sink = getAccessLogSink(stream, { formatter });
 * sink({
 *   category: ["quartz", "http", "access"], level: "info", message: ["GET / 200"],
 *   rawMessage: "GET / 200", timestamp: 0, properties: { status: 200 },
 * });
 * await sink.drain();
 * assert.deepEqual(written, ["1970-01-01T00:00:00.000Z INFO GET / 200\n"]);
 * ```
 */
export interface AccessLogSinkRecord {
  /** The logger's category. */
  readonly category: readonly string[];
  /** The severity. */
  readonly level: AccessLogLevel;
  /** The message, text and values interleaved. */
  readonly message: readonly unknown[];
  /** The message before values were filled in; the line for access records. */
  readonly rawMessage: string | TemplateStringsArray;
  /** When the record was made, milliseconds since the epoch. */
  readonly timestamp: number;
  /** Structured fields; an {@linkcode AccessLogEntry}'s for access records. */
  readonly properties: Record<string, unknown>;
}

/**
 * Options for {@linkcode getAccessLogSink}.
 *
 * @example Bigger batches to a stream the sink must not close
 * ```ts
 * import { type AccessLogSinkOptions, getAccessLogSink } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const written: string[] = [];
 * const stream = new WritableStream<Uint8Array>({
 *   write(chunk) {
 *     written.push(new TextDecoder().decode(chunk));
 *   },
 * });
 * const errors: unknown[] = [];
 * const options: AccessLogSinkOptions = {
 *   flushIntervalMs: 1000, // fewer, larger writes
 *   batchSize: 256 * 1024,
 *   closeStream: false, // other writers share the stream
 *   onError: (error) => errors.push(error),
 * };
 * const sink = getAccessLogSink(stream, options);
 * sink({
 *   category: ["quartz", "http", "access"], level: "info", message: ["GET / 200"],
 *   rawMessage: "GET / 200", timestamp: Date.now(), properties: {},
 * });
 * await sink[Symbol.asyncDispose](); // writes the batch, leaves the stream open
 * assert.deepEqual(written, ["GET / 200\n"]);
 * assert.equal(errors.length, 0);
 * ```
 */
export interface AccessLogSinkOptions {
  /**
   * Turns a record into the text to write, including its line break. It is
   * called inside the sink call, with the record as logged (LogTape `lazy()`
   * property values are not resolved).
   *
   * @default {accessLineFormatter}
   */
  formatter?: (record: AccessLogSinkRecord) => string;
  /**
   * How long a line may wait for its batch to fill before it is written
   * anyway, in milliseconds.
   *
   * @default {100}
   */
  flushIntervalMs?: number;
  /**
   * Characters (UTF-16 code units; bytes for ASCII access lines) that make
   * a batch: once this many wait, they are written without waiting for
   * `flushIntervalMs`.
   *
   * @default {65536}
   */
  batchSize?: number;
  /**
   * Characters that may wait while the stream is slower than the server;
   * lines beyond are dropped and counted, and `onError` hears how many.
   *
   * @default {8388608}
   */
  maxBufferSize?: number;
  /**
   * Whether disposing of the sink closes the stream.
   *
   * @default {true}
   */
  closeStream?: boolean;
  /**
   * Called with a failed write or close (the sink then drops further lines)
   * and with an `Error` saying how many lines were dropped.
   *
   * @default {(error) => console.error("Access log sink:", error)}
   */
  onError?: (error: unknown) => void;
}

/**
 * The sink {@linkcode getAccessLogSink} returns: a LogTape `Sink` that is
 * also `Drainable` and async-disposable, for `configure({ sinks })`.
 *
 * @example Draining and disposing of the sink
 * ```ts
 * import { type AccessLogSink, getAccessLogSink } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const written: string[] = [];
 * const stream = new WritableStream<Uint8Array>({
 *   write(chunk) {
 *     written.push(new TextDecoder().decode(chunk));
 *   },
 * });
 * {
 *   await using sink: AccessLogSink = getAccessLogSink(stream);
 *   sink({
 *     category: ["quartz", "http", "access"], level: "info", message: ["GET / 200"],
 *     rawMessage: "GET / 200", timestamp: Date.now(), properties: {},
 *   });
 *   await sink.drain(); // written now, not when the batch fills
 *   assert.deepEqual(written, ["GET / 200\n"]);
 * } // leaving the block writes what is left and closes the stream
 * ```
 */
export interface AccessLogSink extends AsyncDisposable {
  /**
   * Formats the record and adds the text to the current batch.
   *
   * @param record A record LogTape dispatches to this sink.
   */
  (record: AccessLogSinkRecord): void;
  /**
   * Writes the lines accepted so far without waiting for the batch to fill;
   * LogTape's `drain()` calls it.
   *
   * @returns A promise that resolves once the stream has taken them (or a
   *   write failed and was reported to `onError`).
   */
  drain(): Promise<void>;
}

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Invalid ${name}: ${value}, expected a positive number`,
    );
  }
  return value;
}

/**
 * A LogTape sink that writes access lines to a stream in batches: each line
 * is formatted when it is logged, appended to the current batch, and the
 * batch is encoded and written once it holds `batchSize` characters or is
 * `flushIntervalMs` old. Register it like any sink, for the access category.
 *
 * It costs a server about 1 µs per request, against 5-10 µs for
 * `getStreamSink(stream, { nonBlocking: true })`, whose records LogTape must
 * copy first, and one write per line for the blocking `getStreamSink()`.
 * LogTape's `dispose()` or `reset()` writes what is left and closes the
 * stream; `drain()` writes what is left and keeps it open. Lines logged in
 * the last `flushIntervalMs` before a crash are lost. Wrapping it in
 * `withFilter()` brings LogTape's copy back: filter with the logger's
 * `lowestLevel` instead.
 *
 * @example A combined access log file
 * ```ts ignore
 * import { getAccessLogSink, httpServeOpts } from "@quartz/std/http";
 * import { configure } from "@logtape/logtape";
 *
 * const file = await Deno.open("access.log", {
 *   write: true,
 *   create: true,
 *   append: true,
 * });
 * await configure({
 *   sinks: { access: getAccessLogSink(file.writable) },
 *   loggers: [
 *     {
 *       category: ["quartz", "http", "access"],
 *       sinks: ["access"],
 *       // Keeps access lines out of parent sinks; LogTape skips a walk to
 *       // the root per record.
 *       parentSinks: "override",
 *     },
 *     { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
 *   ],
 * });
 * httpServeOpts({ port: 8080, accessLog: true }, () => new Response("hi"));
 * ```
 *
 * @example Batches reach the stream on drain
 * ```ts
 * import { AccessLogger, getAccessLogSink } from "@quartz/std/http";
 * import { configure, drain, reset } from "@logtape/logtape";
 * import assert from "node:assert/strict";
 *
 * const chunks: string[] = [];
 * const stream = new WritableStream<Uint8Array>({
 *   write(chunk) {
 *     chunks.push(new TextDecoder().decode(chunk));
 *   },
 * });
 * await configure({
 *   sinks: { access: getAccessLogSink(stream) },
 *   loggers: [
 *     { category: ["quartz", "http", "access"], sinks: ["access"] },
 *     { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
 *   ],
 * });
 * try {
 *   const access = new AccessLogger({ format: "common" });
 *   for (const status of [200, 404]) {
 *     access.log({
 *       remoteAddr: "127.0.0.1", time: 0, method: "GET", target: "/",
 *       protocol: "HTTP/1.1", requestLine: null, status, bytesSent: 0,
 *       referer: null, userAgent: null, durationMs: 1, user: null,
 *     });
 *   }
 *   await drain();
 *   assert.deepEqual(chunks, [
 *     '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 -\n' +
 *     '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 404 -\n',
 *   ]);
 * } finally {
 *   await reset();
 * }
 * ```
 *
 * @param stream Where the bytes go, e.g. `(await Deno.open(path, { write:
 *   true, create: true, append: true })).writable`. The sink holds its
 *   writer until disposed.
 * @param options Formatter, batching and error reporting.
 * @returns A LogTape sink that is also async-disposable and drainable.
 * @throws {RangeError} If `flushIntervalMs`, `batchSize` or `maxBufferSize`
 *   is not a positive number.
 * @throws {TypeError} If the stream is locked.
 */
export function getAccessLogSink(
  stream: WritableStream<Uint8Array>,
  options: AccessLogSinkOptions = {},
): AccessLogSink {
  const formatter = options.formatter ?? accessLineFormatter;
  const batcher = new LineBatcher(stream, {
    flushIntervalMs: positive("flushIntervalMs", options.flushIntervalMs, 100),
    batchSize: positive("batchSize", options.batchSize, 65536),
    maxBufferSize: positive("maxBufferSize", options.maxBufferSize, 8388608),
    closeStream: options.closeStream ?? true,
    onError: options.onError ??
      ((error) => console.error("Access log sink:", error)),
  });
  const sink = ((record: AccessLogSinkRecord): void => {
    batcher.add(formatter(record));
  }) as AccessLogSink;
  sink.drain = () => batcher.drain();
  sink[Symbol.asyncDispose] = () => batcher.dispose();
  Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
  return sink;
}
