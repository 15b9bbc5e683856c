// A worker module that configures LogTape itself: the worker keeps access
// records in this module's sink. /count answers how many it got.

import { configure, type LogRecord } from "@logtape/logtape";

const records: LogRecord[] = [];
await configure({
  sinks: { own: (record) => records.push(record) },
  loggers: [
    { category: ["quartz", "http", "access"], sinks: ["own"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
  ],
});

export const handler = (req: Request): Response =>
  new Response(
    new URL(req.url).pathname === "/count" ? String(records.length) : "ok",
  );
