import assert from "node:assert/strict";
import fc from "fast-check";
import { AsyncLocalStorage } from "node:async_hooks";
import { configure, type LogRecord, reset, withConfig } from "@logtape/logtape";
import {
  accessLineFormatter,
  type AccessLogEntry,
  AccessLogger,
  escapeLogValue,
} from "../../http/access_log.ts";

// 10 Oct 2000 13:55:36.250 UTC, the Apache documentation's example second.
const T = Date.UTC(2000, 9, 10, 13, 55, 36, 250);

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    remoteAddr: "127.0.0.1",
    time: T,
    method: "GET",
    target: "/apache_pb.gif",
    protocol: "HTTP/1.1",
    requestLine: null,
    status: 200,
    bytesSent: 2326,
    referer: "http://www.example.com/start.html",
    userAgent: "Mozilla/4.08 [en] (Win98; I ;Nav)",
    durationMs: 12.5,
    user: null,
    ...over,
  };
}

const COMBINED =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

/** Splits a combined line into its nine fields, or fails the test. */
function fields(line: string): string[] {
  const m = COMBINED.exec(line);
  assert.ok(m, `not a combined line: ${line}`);
  return m.slice(1);
}

/** Inverse of the Apache escaping, producing one char per byte (latin1). */
function unescape(s: string): string {
  return s.replace(
    /\\(x[0-9a-f]{2}|[nrtbv"\\])/g,
    (_, e: string) =>
      e[0] === "x"
        ? String.fromCharCode(parseInt(e.slice(1), 16))
        : ({ n: "\n", r: "\r", t: "\t", b: "\b", v: "\v" } as Record<
          string,
          string
        >)[e] ?? e,
  );
}

const combined = new AccessLogger();

Deno.test("AccessLogger.format() writes an Apache combined line field by field", () => {
  const f = fields(combined.format(entry()));
  assert.deepEqual(f, [
    "127.0.0.1",
    "-",
    "-",
    "10/Oct/2000:13:55:36 +0000",
    "GET /apache_pb.gif HTTP/1.1",
    "200",
    "2326",
    "http://www.example.com/start.html",
    "Mozilla/4.08 [en] (Win98; I ;Nav)",
  ]);
});

Deno.test("AccessLogger.format() prints the bytes of a chunked response and the user", () => {
  const line = combined.format(entry({ bytesSent: 1048576, user: "frank" }));
  const f = fields(line);
  assert.equal(f[2], "frank");
  assert.equal(f[6], "1048576");
});

Deno.test("AccessLogger.format() prints - for a HEAD response without body bytes", () => {
  const f = fields(
    combined.format(entry({ method: "HEAD", bytesSent: 0, referer: null })),
  );
  assert.equal(f[4], "HEAD /apache_pb.gif HTTP/1.1");
  assert.equal(f[6], "-");
  assert.equal(f[7], "-");
});

Deno.test("AccessLogger.format() logs a shed connection with placeholders", () => {
  const f = fields(combined.format({
    remoteAddr: "::1",
    time: T,
    method: null,
    target: null,
    protocol: null,
    requestLine: null,
    status: 503,
    bytesSent: 0,
    referer: null,
    userAgent: null,
    durationMs: 0,
    user: null,
  }));
  assert.deepEqual(f, [
    "::1",
    "-",
    "-",
    "10/Oct/2000:13:55:36 +0000",
    "-",
    "503",
    "-",
    "-",
    "-",
  ]);
});

Deno.test("AccessLogger.format() logs the partial raw line of a timed-out request", () => {
  const f = fields(combined.format(entry({
    method: null,
    target: null,
    protocol: null,
    requestLine: "GET /slo",
    status: 408,
    bytesSent: 0,
    referer: null,
    userAgent: null,
  })));
  assert.equal(f[4], "GET /slo");
  assert.equal(f[5], "408");
});

Deno.test("AccessLogger.format() escapes a malformed raw request line", () => {
  const f = fields(combined.format(entry({
    method: null,
    target: null,
    protocol: null,
    requestLine: 'GET /"a b\\ HTTP/1.1\r\nX: \x00\x1b[31m\xff',
    status: 400,
    bytesSent: 11,
  })));
  assert.equal(
    f[4],
    'GET /\\"a b\\\\ HTTP/1.1\\r\\nX: \\x00\\x1b[31m\\xff',
  );
  assert.equal(f[5], "400");
});

Deno.test("AccessLogger.format() keeps method and target when the protocol is missing", () => {
  const f = fields(combined.format(entry({ protocol: null, status: 505 })));
  assert.equal(f[4], "GET /apache_pb.gif");
});

Deno.test("AccessLogger.format() escapes injection attempts in user agent and referer", () => {
  const f = fields(combined.format(entry({
    userAgent: 'evil" 200 1 "-" "x\ninjected 127.0.0.1 - - [',
    referer: 'http://e/\\"\t\b\v\x7f\u00e9\u20ac',
    target: "/a\r\n127.0.0.1 - - x",
  })));
  assert.equal(f[8], 'evil\\" 200 1 \\"-\\" \\"x\\ninjected 127.0.0.1 - - [');
  assert.equal(f[7], 'http://e/\\\\\\"\\t\\b\\v\\x7f\\xe9\\xe2\\x82\\xac');
  assert.equal(f[4], "GET /a\\r\\n127.0.0.1 - - x HTTP/1.1");
});

Deno.test("AccessLogger.format() never lets any request bytes break or forge a line", () => {
  const latin1 = fc.string({
    unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  });
  fc.assert(
    fc.property(latin1, latin1, latin1, latin1, (line, ua, ref, user) => {
      const out = combined.format(entry({
        method: null,
        target: null,
        protocol: null,
        requestLine: line,
        userAgent: ua,
        referer: ref,
        user,
      }));
      assert.ok(/^[\x20-\x7e]*$/.test(out), "only printable ASCII");
      const f = fields(out);
      // Empty values print "-", which also unescapes to "-".
      assert.equal(unescape(f[4]!), line === "" ? "-" : line);
      assert.equal(unescape(f[8]!), ua === "" ? "-" : ua);
      assert.equal(unescape(f[7]!), ref === "" ? "-" : ref);
      // %u is unquoted: spaces are escaped too, so it stays one field.
      assert.equal(unescape(f[2]!), user === "" ? "-" : user);
    }),
  );
});

Deno.test("escapeLogValue() returns the same string when nothing needs escaping", () => {
  const s = "GET /index.html?q=1 HTTP/1.1";
  assert.equal(escapeLogValue(s), s);
  assert.equal(escapeLogValue("\ud800x"), "\\xef\\xbf\\xbdx");
});

Deno.test("AccessLogger.format() writes %t in UTC and changes it with the second", () => {
  assert.equal(
    fields(combined.format(entry({ time: T + 700 })))[3],
    "10/Oct/2000:13:55:36 +0000",
  );
  assert.equal(
    fields(combined.format(entry({ time: T + 750 })))[3],
    "10/Oct/2000:13:55:37 +0000",
  );
  assert.equal(
    fields(combined.format(entry({ time: Date.UTC(2024, 1, 29, 3, 4, 5) })))[3],
    "29/Feb/2024:03:04:05 +0000",
  );
});

Deno.test("AccessLogger.format() writes the common format without referer and agent", () => {
  const line = new AccessLogger({ format: "common" }).format(entry());
  assert.equal(
    line,
    '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.1" 200 2326',
  );
});

Deno.test("AccessLogger.format() writes JSON lines with every field and no raw control characters", () => {
  const e = entry({ userAgent: 'a\nb\x7f\u2028\u0085"', requestLine: null });
  const line = new AccessLogger({ format: "json" }).format(e);
  assert.ok(/^[^\n\r\x7f\u2028\u0085]*$/.test(line));
  const parsed = JSON.parse(line);
  assert.deepEqual(parsed, {
    time: "2000-10-10T13:55:36.250Z",
    remoteAddr: e.remoteAddr,
    user: null,
    method: "GET",
    target: "/apache_pb.gif",
    protocol: "HTTP/1.1",
    requestLine: null,
    status: 200,
    bytesSent: 2326,
    referer: e.referer,
    userAgent: e.userAgent,
    durationMs: 12.5,
  });
});

Deno.test("AccessLogger.format() uses a custom format function", () => {
  const logger = new AccessLogger({
    format: (e) => `${e.status} ${escapeLogValue(e.target ?? "-")}`,
  });
  assert.equal(logger.format(entry({ target: "/\n" })), "200 /\\n");
});

Deno.test("AccessLogger() rejects an unknown format", () => {
  assert.throws(
    () => new AccessLogger({ format: "apache" as "common" }),
    (e) => e instanceof TypeError && /"apache"/.test(e.message),
  );
});

async function withSink(
  loggers: { category: string[]; lowestLevel?: "info" | "warning" }[],
  fn: (records: LogRecord[]) => void | Promise<void>,
): Promise<void> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r: LogRecord) => void records.push(r) },
    loggers: [
      ...loggers.map((l) => ({ ...l, sinks: ["mem" as const] })),
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    await fn(records);
  } finally {
    await reset();
  }
}

Deno.test("AccessLogger.log() sends one record per response to the LogTape sink", async () => {
  const logger = new AccessLogger(); // created before configure(), as a server would be
  await withSink([{ category: ["quartz", "http", "access"] }], (records) => {
    assert.equal(logger.enabled, true);
    const e = entry({ target: "/{id}?a={b}" });
    logger.log(e);
    assert.equal(records.length, 1);
    const r = records[0]!;
    assert.deepEqual(r.category, ["quartz", "http", "access"]);
    assert.equal(r.level, "info");
    assert.deepEqual(r.message, [combined.format(e)]);
    assert.equal(r.properties.status, 200);
    assert.equal(r.properties.target, "/{id}?a={b}");
    assert.equal(accessLineFormatter(r), combined.format(e) + "\n");
  });
  assert.equal(logger.enabled, false);
});

Deno.test("AccessLogger.log() is enabled through a parent category and honours lowestLevel", async () => {
  await withSink([{ category: ["quartz"] }], (records) => {
    new AccessLogger().log(entry());
    assert.equal(records.length, 1);
  });
  await withSink([{
    category: ["quartz", "http", "access"],
    lowestLevel: "warning",
  }], (records) => {
    const info = new AccessLogger();
    assert.equal(info.enabled, false);
    info.log(entry());
    const warn = new AccessLogger({
      level: "warning",
      category: ["quartz", "http", "access"],
    });
    warn.log(entry());
    assert.equal(records.length, 1);
    assert.equal(records[0]!.level, "warning");
  });
});

Deno.test("AccessLogger.log() does not format anything while no sink is enabled", async () => {
  let calls = 0;
  const logger = new AccessLogger({
    format: (e) => {
      calls++;
      return String(e.status);
    },
  });
  logger.log(entry());
  await withSink([{ category: ["app"] }], (records) => {
    assert.equal(logger.enabled, false);
    logger.log(entry());
    assert.equal(records.length, 0);
  });
  assert.equal(calls, 0);
  await withSink([{ category: ["quartz", "http"] }], (records) => {
    logger.log(entry());
    assert.deepEqual(records.map((r) => r.message[0]), ["200"]);
  });
  assert.equal(calls, 1);
});

Deno.test("AccessLogger.log() uses a custom category", async () => {
  const logger = new AccessLogger({ category: ["web", "access"] });
  await withSink([{ category: ["web"] }], (records) => {
    logger.log(entry());
    assert.deepEqual(records[0]?.category, ["web", "access"]);
  });
});

Deno.test("AccessLogger.enabled follows withConfig() scopes when contextLocalStorage is set", async () => {
  const logger = new AccessLogger();
  await configure({
    sinks: {},
    loggers: [{
      category: ["logtape", "meta"],
      lowestLevel: "warning",
      sinks: [],
    }],
    contextLocalStorage: new AsyncLocalStorage(),
  });
  try {
    assert.equal(logger.enabled, false);
    const records: LogRecord[] = [];
    await withConfig({
      sinks: { mem: (r: LogRecord) => void records.push(r) },
      loggers: [{ category: ["quartz", "http", "access"], sinks: ["mem"] }],
    }, () => {
      assert.equal(logger.enabled, true);
      logger.log(entry());
    });
    assert.equal(logger.enabled, false);
    assert.equal(records.length, 1);
  } finally {
    await reset();
  }
});
