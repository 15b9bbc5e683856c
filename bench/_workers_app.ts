// The worker module of bench/workers_bench.ts: the same 12-byte body as
// bench/http_bench.ts.

export default {
  fetch(): Response {
    return new Response("Hello World!");
  },
};
