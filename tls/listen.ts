/**
 * Options of {@linkcode tlsListen}: the address plus the certificate, as PEM text or file paths.
 *
 * @example Certificate files, a free loopback port, and a check of the options
 * ```ts
 * import { tlsListen, type TlsListenOptions } from "@quartz/std/tls";
 * import assert from "node:assert/strict";
 *
 * const options: TlsListenOptions = {
 *   hostname: "127.0.0.1",
 *   port: 0, // read the chosen port from listener.addr
 *   certFile: "cert.pem",
 *   keyFile: "key.pem",
 *   alpnProtocols: ["http/1.1"],
 * };
 * function listen(): Deno.TlsListener {
 *   return tlsListen(options);
 * }
 *
 * // Without a certificate, tlsListen throws before binding anything.
 * assert.throws(() => tlsListen({ hostname: "127.0.0.1", port: 0 }), TypeError);
 * ```
 */
export interface TlsListenOptions {
  /**
   * Interface to bind.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * Port to bind; 0 picks a free one (read it from `listener.addr`).
   *
   * @default {443}
   */
  port?: number;
  /**
   * Certificate chain, PEM text. Give either `cert` and `key` or `certFile` and `keyFile`.
   *
   * @default {undefined}
   */
  cert?: string;
  /**
   * Private key, PEM text.
   *
   * @default {undefined}
   */
  key?: string;
  /**
   * Path of the PEM certificate chain (read synchronously; needs `--allow-read`).
   *
   * @default {undefined}
   */
  certFile?: string;
  /**
   * Path of the PEM private key (read synchronously; needs `--allow-read`).
   *
   * @default {undefined}
   */
  keyFile?: string;
  /**
   * ALPN protocols offered, most preferred first, e.g. `["h2", "http/1.1"]`.
   *
   * @default {undefined} (no ALPN)
   */
  alpnProtocols?: string[];
}

/**
 * Starts a TLS listener (`Deno.listenTls`). Accepting a connection does not run
 * the handshake; pass each one to `tlsAcceptAsync`.
 *
 * @param options Address, certificate and ALPN protocols.
 * @returns The listener; close it when done.
 * @throws {TypeError} If neither `cert`/`key` nor `certFile`/`keyFile` is given, or both are.
 * @throws {Deno.errors.NotCapable} Without `--allow-net` (or `--allow-read` for files).
 *
 * @example Listen on a free loopback port
 * ```ts ignore
 * import { tlsListen } from "@quartz/std/tls";
 *
 * const listener = tlsListen({ hostname: "127.0.0.1", port: 0, certFile: "cert.pem", keyFile: "key.pem" });
 * console.log((listener.addr as Deno.NetAddr).port);
 * listener.close();
 * ```
 */
export function tlsListen(options: TlsListenOptions): Deno.TlsListener {
  const { cert, key, certFile, keyFile } = options;
  const pem = cert !== undefined || key !== undefined;
  const files = certFile !== undefined || keyFile !== undefined;
  if (pem === files) {
    throw new TypeError(
      "Cannot listen: give either cert and key (PEM text) or certFile and keyFile, not both or neither",
    );
  }
  if (
    (pem ? cert : certFile) === undefined || (pem ? key : keyFile) === undefined
  ) {
    throw new TypeError(
      `Cannot listen: ${
        pem ? "cert and key" : "certFile and keyFile"
      } must be given together`,
    );
  }
  const certText = pem ? cert! : Deno.readTextFileSync(certFile!);
  const keyText = pem ? key! : Deno.readTextFileSync(keyFile!);
  const listenOptions: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem = {
    cert: certText,
    key: keyText,
    port: options.port ?? 443,
  };
  if (options.hostname !== undefined) listenOptions.hostname = options.hostname;
  if (options.alpnProtocols !== undefined) {
    listenOptions.alpnProtocols = options.alpnProtocols;
  }
  return Deno.listenTls(listenOptions);
}
