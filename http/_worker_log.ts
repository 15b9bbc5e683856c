// Access records of httpServeTlsWorkers cross from a worker's LogTape to the
// main thread's: LogTape is configured per isolate and the application's
// sinks live in the main thread. The worker queues records and posts them in
// batches (one postMessage per batch, not per line); the pool re-emits each
// one under its own category, level and timestamp.

import {
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";

/** A log record as it crosses postMessage. */
export interface WireRecord {
  category: readonly string[];
  level: LogLevel;
  message: readonly unknown[];
  /** A template's strings travel as a plain array. */
  rawMessage: string | readonly string[];
  timestamp: number;
  properties: Record<string, unknown>;
}

/** Records queued before a batch is posted without waiting for the timer. */
const MAX_BATCH = 256;
/** Longest a record waits in the worker's queue, in milliseconds. */
const FLUSH_MS = 2;

function toWire(record: LogRecord): WireRecord {
  const raw = record.rawMessage;
  return {
    category: record.category,
    level: record.level,
    message: record.message,
    rawMessage: typeof raw === "string" ? raw : [...raw],
    timestamp: record.timestamp,
    properties: record.properties,
  };
}

/** A value postMessage accepts: itself, else its string form. */
function cloneable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    // Functions, symbols and host objects cannot cross; their text can.
    return String(value);
  }
}

function cloneableRecord(record: WireRecord): WireRecord {
  const properties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record.properties)) {
    properties[key] = cloneable(value);
  }
  return { ...record, message: record.message.map(cloneable), properties };
}

/**
 * The worker's side: a LogTape sink that queues records and hands them to
 * `post` in batches, every {@linkcode FLUSH_MS} ms or
 * {@linkcode MAX_BATCH} records, and at once on `flush()`.
 */
export class LogForwarder {
  /** The sink to configure in the worker's LogTape. */
  readonly sink: Sink;
  #queue: WireRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #post: (records: WireRecord[]) => void;

  constructor(post: (records: WireRecord[]) => void) {
    this.#post = post;
    this.sink = (record) => {
      this.#queue.push(toWire(record));
      if (this.#queue.length >= MAX_BATCH) this.flush();
      else if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.flush();
        }, FLUSH_MS);
      }
    };
  }

  /** Posts every queued record now. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    try {
      this.#post(batch);
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "DataCloneError")) {
        throw error;
      }
      // A record holds a value that cannot be cloned: send its text instead.
      this.#post(batch.map(cloneableRecord));
    }
  }
}

const loggers = new Map<string, Logger>();

/**
 * The main thread's side: emits forwarded records through this isolate's
 * LogTape, so the sinks configured here get each one once.
 */
export function emitRecords(records: readonly WireRecord[]): void {
  for (const r of records) {
    const key = r.category.join("\0");
    let logger = loggers.get(key);
    if (logger === undefined) {
      logger = getLogger(r.category);
      loggers.set(key, logger);
    }
    const raw = r.rawMessage;
    const record: LogRecord = {
      category: r.category,
      level: r.level,
      message: r.message,
      rawMessage: typeof raw === "string"
        ? raw
        : Object.assign([...raw], { raw: [...raw] }) as TemplateStringsArray,
      timestamp: r.timestamp,
      properties: r.properties,
    };
    logger.emit(record);
  }
}
