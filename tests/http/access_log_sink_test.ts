import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { getAccessLogSink } from "../../http/access_log_sink.ts";
import { RawClient, startTcp } from "./_helpers.ts";

/** A record as AccessLogger emits it, with `line` as its message. */
function record(line: string): LogRecord {
  return {
    category: ["quartz", "http", "access"],
    level: "info",
    message: [line],
    rawMessage: line,
    timestamp: 0,
    properties: {},
  };
}

/** A stream that keeps what it is given, one string per write. */
function collector() {
  const chunks: string[] = [];
  let closed = false;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(new TextDecoder().decode(chunk));
    },
    close() {
      closed = true;
    },
  });
  return { stream, chunks, closed: () => closed };
}

Deno.test("getAccessLogSink() writes the lines logged so far as one batch on drain()", async () => {
  const out = collector();
  const sink = getAccessLogSink(out.stream);
  try {
    sink(record("a 200"));
    sink(record("b 404"));
    sink(record("c \u00e9"));
    await sink.drain();
    assert.deepEqual(out.chunks, ["a 200\nb 404\nc \u00e9\n"]);
    sink(record("d"));
    await sink.drain();
    assert.deepEqual(out.chunks.slice(1), ["d\n"]);
  } finally {
    await sink[Symbol.asyncDispose]();
  }
  assert.ok(out.closed());
});

Deno.test("getAccessLogSink() writes a line after flushIntervalMs, a full batch at once", async () => {
  const clock = FakeTimers.withGlobal(globalThis).install({
    toFake: ["setTimeout", "clearTimeout"],
  });
  const out = collector();
  const sink = getAccessLogSink(out.stream, {
    flushIntervalMs: 50,
    batchSize: 10,
  });
  try {
    sink(record("1234"));
    await clock.tickAsync(49);
    assert.deepEqual(out.chunks, []);
    await clock.tickAsync(1);
    assert.deepEqual(out.chunks, ["1234\n"]);
    // Ten characters make a batch: written without the clock moving.
    sink(record("abcd"));
    sink(record("efgh"));
    await clock.tickAsync(0);
    assert.deepEqual(out.chunks.slice(1), ["abcd\nefgh\n"]);
    assert.equal(clock.countTimers(), 0);
  } finally {
    await sink[Symbol.asyncDispose]();
    clock.uninstall();
  }
});

Deno.test("getAccessLogSink() drops lines past maxBufferSize and reports how many", async () => {
  const chunks: string[] = [];
  const errors: unknown[] = [];
  const entered = Promise.withResolvers<void>();
  const stalled = Promise.withResolvers<void>();
  const stream = new WritableStream<Uint8Array>({
    async write(chunk) {
      chunks.push(new TextDecoder().decode(chunk));
      // The first write hangs until released: a stalled disk.
      if (chunks.length === 1) {
        entered.resolve();
        await stalled.promise;
      }
    },
  });
  const sink = getAccessLogSink(stream, {
    batchSize: 1,
    maxBufferSize: 10,
    onError: (e) => errors.push(e),
  });
  try {
    sink(record("first"));
    await entered.promise;
    for (const line of ["1234", "5678", "lost", "lost"]) sink(record(line));
    stalled.resolve();
    await sink.drain();
    assert.deepEqual(chunks, ["first\n", "1234\n5678\n"]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof Error);
    assert.match(errors[0].message, /^Dropped 2 access lines/);
  } finally {
    await sink[Symbol.asyncDispose]();
  }
});

Deno.test("getAccessLogSink() reports a failed write once and drops later lines", async () => {
  const failure = new Error("disk full");
  const errors: unknown[] = [];
  const stream = new WritableStream<Uint8Array>({
    write() {
      throw failure;
    },
  });
  const sink = getAccessLogSink(stream, { onError: (e) => errors.push(e) });
  sink(record("a"));
  await sink.drain();
  sink(record("b"));
  await sink.drain();
  await sink[Symbol.asyncDispose]();
  assert.deepEqual(errors, [failure]);
});

Deno.test("getAccessLogSink() prints an error its onError threw, and still settles", async () => {
  const failure = new Error("disk full");
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    const stream = new WritableStream<Uint8Array>({
      write() {
        throw failure;
      },
    });
    const sink = getAccessLogSink(stream, {
      onError: () => {
        throw new Error("hook broke");
      },
    });
    sink(record("a"));
    await sink.drain();
    await sink[Symbol.asyncDispose]();
  } finally {
    console.error = original;
  }
  assert.equal(printed.length, 1);
  assert.equal((printed[0]![1] as Error).message, "hook broke");
  assert.equal(printed[0]![2], failure);
});

Deno.test("getAccessLogSink({ closeStream: false }) leaves the stream open and unlocked", async () => {
  const out = collector();
  const sink = getAccessLogSink(out.stream, { closeStream: false });
  sink(record("x"));
  await sink[Symbol.asyncDispose]();
  assert.equal(out.closed(), false);
  assert.equal(out.stream.locked, false);
  assert.deepEqual(out.chunks, ["x\n"]);
  await out.stream.close();
});

Deno.test("getAccessLogSink() rejects bad numbers and a locked stream", () => {
  const stream = new WritableStream<Uint8Array>();
  for (
    const bad of [
      { batchSize: 0 },
      { flushIntervalMs: NaN },
      { maxBufferSize: -1 },
      { flushIntervalMs: Infinity },
    ]
  ) {
    assert.throws(() => getAccessLogSink(stream, bad), RangeError);
  }
  const writer = stream.getWriter();
  assert.throws(() => getAccessLogSink(stream), TypeError);
  writer.releaseLock();
});

Deno.test("getAccessLogSink() gets the record as logged, not LogTape's copy, and uses the formatter", async () => {
  const seen: LogRecord[] = [];
  const out = collector();
  await configure({
    sinks: {
      access: getAccessLogSink(out.stream, {
        formatter: (r) => {
          seen.push(r);
          return `${r.level} ${String(r.rawMessage)}\n`;
        },
      }),
    },
    loggers: [
      { category: ["quartz", "http", "access"], sinks: ["access"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    const r = record("GET /");
    getLogger(["quartz", "http", "access"]).emit(r);
    // LogTape copies a record for a sink that might keep it; this one
    // formats before returning, so it is passed the original.
    assert.equal(seen[0], r);
  } finally {
    await reset();
  }
  assert.deepEqual(out.chunks, ["info GET /\n"]);
  assert.ok(out.closed());
});

Deno.test("getAccessLogSink() writes a server's access lines through LogTape", async () => {
  const out = collector();
  await configure({
    sinks: { access: getAccessLogSink(out.stream) },
    loggers: [
      {
        category: ["quartz", "http", "access"],
        sinks: ["access"],
        parentSinks: "override",
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    const server = startTcp(() => new Response("hello"), { accessLog: true });
    await using c = await RawClient.tcp(server);
    for (const path of ["/a", "/b"]) {
      await c.send(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      await c.readResponse();
    }
    c.close();
    await server.shutdown({ graceMs: 1_000 });
  } finally {
    // Writes what is buffered and closes the stream.
    await reset();
  }
  assert.ok(out.closed());
  const lines = out.chunks.join("").split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "");
  assert.match(
    lines[0]!,
    /^127\.0\.0\.1 - - \[.+\] "GET \/a HTTP\/1\.1" 200 5 "-" "-"$/,
  );
  assert.match(lines[1]!, /"GET \/b HTTP\/1\.1" 200 5 /);
});
