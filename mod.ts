/**
 * @quartz/std: TLS with timeouts and cancellation, a production HTTPS/1.1 server,
 * and structured concurrency for Deno.
 *
 * @module
 */
export * from "./tls/mod.ts";
export * from "./http/mod.ts";
export * from "./concurrency/mod.ts";
