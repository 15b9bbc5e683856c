// Per-request cost of access logging, metrics and admission control.
// Run: deno bench --allow-env bench/access_log_bench.ts
import { configure, getStreamSink, type LogRecord } from "@logtape/logtape";
import {
  accessLineFormatter,
  type AccessLogEntry,
  AccessLogger,
} from "../http/access_log.ts";
import { getAccessLogSink } from "../http/access_log_sink.ts";
import { LoadShedder } from "../http/load_shed.ts";
import { ServerMetrics } from "../http/metrics.ts";

let bytes = 0;
// A sink that does the work a stream sink does before I/O: render the line.
const renderSink = (record: LogRecord): void => {
  bytes += accessLineFormatter(record).length;
};
// Streams that take the bytes and do no I/O, so that the sinks' own work is
// what is measured.
const nullStream = (): WritableStream<Uint8Array> =>
  new WritableStream({
    write(chunk) {
      bytes += chunk.length;
    },
  });

await configure({
  sinks: {
    render: renderSink,
    batched: getAccessLogSink(nullStream()),
    stream: getStreamSink(nullStream(), {
      formatter: accessLineFormatter,
      nonBlocking: true,
    }),
  },
  loggers: [
    // "override" spares LogTape a walk to the root per record, as the README
    // recommends for the access category.
    { category: ["bench", "on"], sinks: ["render"], parentSinks: "override" },
    {
      category: ["bench", "batched"],
      sinks: ["batched"],
      parentSinks: "override",
    },
    {
      category: ["bench", "stream"],
      sinks: ["stream"],
      parentSinks: "override",
    },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
  ],
});

const off = new AccessLogger({ category: ["bench", "off"] });
const combined = new AccessLogger({ category: ["bench", "on"] });
const json = new AccessLogger({ category: ["bench", "on"], format: "json" });
const batched = new AccessLogger({ category: ["bench", "batched"] });
const stream = new AccessLogger({ category: ["bench", "stream"] });

function collect(): AccessLogEntry {
  return {
    remoteAddr: "127.0.0.1",
    time: Date.now(),
    method: "GET",
    target: "/api/items?page=2",
    protocol: "HTTP/1.1",
    requestLine: null,
    status: 200,
    bytesSent: 5120,
    referer: "https://example.com/list",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
    durationMs: 3.2,
    user: null,
  };
}

// What the engine does per finished response.
function finish(logger: AccessLogger): void {
  if (logger.enabled) logger.log(collect());
}

Deno.bench("logging off (enabled check only)", {
  group: "access log per request",
  baseline: true,
}, () => finish(off));

Deno.bench("combined line to a LogTape sink", {
  group: "access log per request",
}, () => finish(combined));

Deno.bench("JSON line to a LogTape sink", {
  group: "access log per request",
}, () => finish(json));

Deno.bench("combined line to getAccessLogSink (batched, null stream)", {
  group: "access log per request",
}, () => finish(batched));

Deno.bench("combined line to getStreamSink nonBlocking (null stream)", {
  group: "access log per request",
}, () => finish(stream));

Deno.bench("combined line, formatter only", {
  group: "access log per request",
}, () => {
  bytes += combined.format(collect()).length;
});

const metrics = new ServerMetrics();
let status = 200;
Deno.bench(
  "no metrics",
  { group: "metrics per request", baseline: true },
  () => {
    status = status === 200 ? 404 : 200;
  },
);
Deno.bench("ServerMetrics start + finish + bytes", {
  group: "metrics per request",
}, () => {
  status = status === 200 ? 404 : 200;
  metrics.requestStarted();
  metrics.addBytesOut(512);
  metrics.requestFinished(status, 3.2);
});

const shedder = new LoadShedder({ maxInFlight: 1000 });
Deno.bench("no admission control", {
  group: "admission per request",
  baseline: true,
}, () => {
  status = status === 200 ? 404 : 200;
});
Deno.bench("LoadShedder.admit() + release() fast path", {
  group: "admission per request",
}, () => {
  const d = shedder.admit("normal");
  if (!(d instanceof Promise) && d.admitted) d.release();
});

globalThis.addEventListener("unload", () => {
  if (bytes < 0) console.log(bytes); // keep the sink's work observable
});
