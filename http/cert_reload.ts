// The HTTPS server's certificate reload: its options and the server type
// that offers it.

import type { HttpServer } from "./server.ts";

/**
 * The new certificate and key for {@linkcode HttpsServer.reloadCertificates}:
 * PEM text or files. Without any field, the files the server was started with
 * (or last reloaded from) are read again.
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
   * the old one, so the port never stops accepting.
   */
  readonly reusePort: boolean;
  /**
   * Replaces the certificate and key for new connections; connections
   * already open keep theirs and are not dropped. The new pair is checked
   * first (parsed, key matched to the certificate): a bad one is refused and
   * the old one stays in use. Concurrent reloads run one after the other.
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
