// The HTTPS server's certificate reload: its options and the server type
// that offers it.

import { probeHandover } from "./_reload_handover.ts";
import type { HttpServer } from "./server.ts";

/**
 * The new certificate and key for {@linkcode HttpsServer.reloadCertificates}:
 * PEM text or files. Without any field, the files the server was started with
 * (or last reloaded from) are read again.
 *
 * @example Switching to renewed certificate files without a restart
 * ```ts
 * import type { HttpsReloadOptions, HttpsServer } from "@quartz/std/http";
 *
 * async function onRenewed(server: HttpsServer, dir: string): Promise<void> {
 *   const files: HttpsReloadOptions = {
 *     certFile: `${dir}/fullchain.pem`,
 *     keyFile: `${dir}/privkey.pem`,
 *   };
 *   await server.reloadCertificates(files); // a bad pair is refused, the old one stays
 * }
 * ```
 */
export interface HttpsReloadOptions {
  /**
   * Path of the new PEM certificate chain (give `keyFile` with it).
   *
   * @default {undefined} (the configured file)
   */
  certFile?: string;
  /**
   * Path of the new PEM private key (give `certFile` with it).
   *
   * @default {undefined} (the configured file)
   */
  keyFile?: string;
  /**
   * The new PEM certificate chain (give `key` with it).
   *
   * @default {undefined}
   */
  cert?: string;
  /**
   * The new PEM private key (give `cert` with it).
   *
   * @default {undefined}
   */
  key?: string;
}

/**
 * A running HTTPS server from {@linkcode httpServeTlsOpts}: an
 * {@linkcode HttpServer} whose certificate can be replaced while it runs.
 *
 * @example Reload on SIGHUP
 * ```ts ignore
 * import { httpServeTlsOpts } from "@quartz/std/http";
 *
 * const server = httpServeTlsOpts(
 *   { port: 8443 },
 *   { certFile: "cert.pem", keyFile: "key.pem" },
 *   () => new Response("hi"),
 * );
 * Deno.addSignalListener("SIGHUP", () => {
 *   server.reloadCertificates().catch((e) => console.error(e.message));
 * });
 * ```
 */
export interface HttpsServer extends HttpServer {
  /**
   * Whether the listener was bound with `SO_REUSEPORT` (Linux with
   * `--unstable-net`): a reload then opens the new listener before closing
   * the old one, so the port never stops accepting. Whether a connect queued
   * on the old one survives: {@linkcode certReloadHandover}.
   */
  readonly reusePort: boolean;
  /**
   * Replaces the certificate and key for new connections; connections
   * already open keep theirs and are not dropped. The new pair is checked
   * first (parsed, key matched to the certificate): a bad one is refused and
   * the old one stays in use. Concurrent reloads run one after the other.
   * No connect fails where {@linkcode certReloadHandover} says `"migrate"`;
   * elsewhere the first reload logs one warning saying what it risks
   * (LogTape category `["quartz", "http"]`).
   *
   * @param options The new PEM text or files; none: re-read the configured files.
   * @returns Resolves once new connections get the new certificate.
   * @throws {TypeError} If the certificate or key cannot be used (bad PEM, key
   * not matching the certificate), or only one of a pair is given.
   * @throws {Deno.errors.NotFound} If a file does not exist.
   * @throws {Deno.errors.BadResource} If the server is shutting down.
   */
  reloadCertificates(options?: HttpsReloadOptions): Promise<void>;
}

/**
 * What happens, during a certificate reload, to a connection the kernel has
 * queued on the old listener but the server has not accepted yet:
 *
 * - `"migrate"`: Linux with `reusePort` and `net.ipv4.tcp_migrate_req = 1`:
 *   the kernel moves it to the new listener. No connect fails: zero loss.
 * - `"reset"`: `reusePort`, but the kernel resets it (the sysctl is 0, or a
 *   kernel before 5.14): about one connect every few reloads under load.
 * - `"refuse"`: no `reusePort` (not Linux, or no `--unstable-net`): the
 *   listener is closed and bound again, and connects in between are refused.
 * - `"unknown"`: `reusePort`, but no net permission for `127.0.0.1` or
 *   `localhost` to probe the kernel with.
 *
 * @example Advice for each answer
 * ```ts
 * import { type CertReloadHandover, certReloadHandover } from "@quartz/std/http";
 * import assert from "node:assert/strict";
 *
 * const advice: Record<CertReloadHandover, string> = {
 *   migrate: "Reloads lose no connection",
 *   reset: "Set net.ipv4.tcp_migrate_req=1 for zero-loss reloads",
 *   refuse: "Run on Linux with --unstable-net to keep accepting during reloads",
 *   unknown: "Grant --allow-net=127.0.0.1 so the kernel can be asked",
 * };
 * // Without reusePort the answer needs no probe.
 * const mode = await certReloadHandover({ reusePort: false });
 * assert.equal(mode, "refuse");
 * console.log(advice[mode]);
 * ```
 */
export type CertReloadHandover = "migrate" | "reset" | "refuse" | "unknown";

/**
 * Tells whether a certificate reload of `server` loses no connection on this
 * machine, and if not what it risks: see {@linkcode CertReloadHandover}.
 * Deno lets only `--allow-all` read `/proc`, so instead of reading
 * `net.ipv4.tcp_migrate_req` this asks the kernel: it queues 4 connections
 * on a loopback `SO_REUSEPORT` listener, opens a second one on the port,
 * closes the first and sees whether the connections moved (a few ms). The
 * sysctl is per network namespace and can change, so each call probes
 * again. Needs net permission for `127.0.0.1` or `localhost` (checked
 * without prompting; without it the answer is `"unknown"`).
 *
 * @param server A server from `httpServeTlsOpts` or `httpServeTlsWorkers`.
 * @returns `"migrate"` when reloads are zero-loss, else what a reload risks.
 * @throws {TypeError} If `server` has no boolean `reusePort`.
 *
 * @example Print it at start
 * ```ts ignore
 * import { certReloadHandover, httpServeTlsOpts } from "@quartz/std/http";
 *
 * const server = httpServeTlsOpts(
 *   { port: 8443 },
 *   { certFile: "cert.pem", keyFile: "key.pem" },
 *   () => new Response("hi"),
 * );
 * const mode = await certReloadHandover(server);
 * console.log(mode === "migrate" ? "Reloads are zero-loss" : `Reloads: ${mode}`);
 * ```
 */
export function certReloadHandover(
  server: Pick<HttpsServer, "reusePort">,
): Promise<CertReloadHandover> {
  if (typeof server?.reusePort !== "boolean") {
    throw new TypeError(
      `Invalid server ${String(server)}: expected an HttpsServer`,
    );
  }
  return probeHandover(server.reusePort);
}
