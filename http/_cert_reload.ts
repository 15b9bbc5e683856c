// Certificate reload: Deno.listenTls binds the certificate when it listens,
// so a reload checks the new pair on a throwaway listener, then swaps the
// server's listener for one with the new pair on the same address.

import { getLogger } from "@logtape/logtape";
import { ServerImpl } from "./_server.ts";
import type { HttpsReloadOptions, HttpsServer } from "./cert_reload.ts";
import { handoverWarning, probeHandover } from "./_reload_handover.ts";

/** A certificate and key as PEM text. */
export interface PemPair {
  cert: string;
  key: string;
}

/** What a listener of the server needs besides its certificate. */
export interface ListenParams {
  hostname: string;
  port: number;
  alpnProtocols: string[];
  reusePort: boolean;
}

/**
 * Whether SO_REUSEPORT spreads connections over listeners of one address:
 * Linux only, and Deno needs `--unstable-net` (without it, asking for
 * `reusePort` ends the process). `Deno.listenDatagram` exists exactly when
 * `--unstable-net` is on.
 */
export function reusePortSupported(): boolean {
  return Deno.build.os === "linux" && unstableNet();
}

function unstableNet(): boolean {
  return typeof (Deno as unknown as { listenDatagram?: unknown })
    .listenDatagram === "function";
}

/** Binds a TLS listener; with `reusePort`, several may share the address. */
export function listenTlsPair(
  params: ListenParams,
  pair: PemPair,
): Deno.TlsListener {
  const options: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem & {
    reusePort?: boolean;
  } = {
    hostname: params.hostname,
    port: params.port,
    cert: pair.cert,
    key: pair.key,
    alpnProtocols: params.alpnProtocols,
  };
  if (params.reusePort) {
    if (!unstableNet()) {
      throw new TypeError(
        "Invalid reusePort true: Deno needs --unstable-net for it",
      );
    }
    options.reusePort = true;
  }
  return Deno.listenTls(options);
}

/**
 * Checks that rustls accepts the pair (PEM parses, the key matches the
 * certificate) by binding it on a free port of the same interface.
 *
 * @throws {TypeError} If the pair is refused.
 */
export function checkPair(hostname: string, pair: PemPair): void {
  let probe: Deno.TlsListener;
  try {
    probe = Deno.listenTls({ hostname, port: 0, ...pair });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new TypeError(
      `Invalid certificate or key: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  probe.close();
}

async function readPair(
  options: HttpsReloadOptions,
  files: { certFile: string; keyFile: string } | null,
): Promise<{ pair: PemPair; files: typeof files }> {
  const { cert, key, certFile, keyFile } = options;
  if (cert !== undefined || key !== undefined) {
    if (typeof cert !== "string" || typeof key !== "string") {
      throw new TypeError(
        "Invalid reload options: give cert and key together, as PEM text",
      );
    }
    if (certFile !== undefined || keyFile !== undefined) {
      throw new TypeError(
        "Invalid reload options: give either cert and key or certFile and keyFile, not both",
      );
    }
    return { pair: { cert, key }, files: null };
  }
  if (certFile !== undefined || keyFile !== undefined) {
    if (typeof certFile !== "string" || typeof keyFile !== "string") {
      throw new TypeError(
        "Invalid reload options: give certFile and keyFile together",
      );
    }
    files = { certFile, keyFile };
  }
  if (files === null) {
    throw new TypeError(
      "Cannot reload certificates: the server was started with PEM text, give cert and key",
    );
  }
  // One after the other: a failed read leaves no other read pending.
  const certText = await Deno.readTextFile(files.certFile);
  const keyText = await Deno.readTextFile(files.keyFile);
  return { pair: { cert: certText, key: keyText }, files };
}

/**
 * Binds the address a listener closed a moment ago. Deno releases the socket
 * only once the accept pending on it has been dropped, a turn of the event
 * loop later, so AddrInUse is retried for a short while.
 */
async function bindAgain(
  params: ListenParams,
  pair: PemPair,
): Promise<Deno.TlsListener> {
  for (let attempt = 0;; attempt++) {
    try {
      return listenTlsPair(params, pair);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt >= 50) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, attempt < 5 ? 0 : 10));
    }
  }
}

/** The HTTPS engine plus certificate reload. */
export class HttpsServerImpl extends ServerImpl implements HttpsServer {
  readonly reusePort: boolean;
  #params: ListenParams;
  #pair: PemPair;
  #files: { certFile: string; keyFile: string } | null;
  #queue: Promise<void> = Promise.resolve();
  #warned = false;

  constructor(
    args: ConstructorParameters<typeof ServerImpl>,
    tls: {
      params: ListenParams;
      pair: PemPair;
      files: { certFile: string; keyFile: string } | null;
    },
  ) {
    super(...args);
    this.reusePort = tls.params.reusePort;
    // A port of 0 was resolved when binding: reloads bind the same one.
    this.#params = { ...tls.params, port: this.addr.port };
    this.#pair = tls.pair;
    this.#files = tls.files;
  }

  reloadCertificates(options: HttpsReloadOptions = {}): Promise<void> {
    if (options === null || typeof options !== "object") {
      return Promise.reject(
        new TypeError(
          `Invalid reload options ${String(options)}: expected an object`,
        ),
      );
    }
    const run = this.#queue.then(() => this.#reload(options));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Tells the operator, through LogTape, when a reload can lose connects. */
  async #warnIfLossy(): Promise<void> {
    const logger = getLogger(["quartz", "http"]);
    let warning: string | null;
    try {
      warning = handoverWarning(await probeHandover(this.reusePort));
    } catch (error) {
      warning =
        `Certificate reload may not be zero-loss: the loopback probe failed: ${
          error instanceof Error ? error.message : String(error)
        }`;
    }
    if (warning !== null) logger.warn(warning);
  }

  async #reload(options: HttpsReloadOptions): Promise<void> {
    const { pair, files } = await readPair(options, this.#files);
    checkPair(this.#params.hostname, pair);
    if (!this.#warned) {
      // Once per server: the mode only changes with the sysctl.
      this.#warned = true;
      await this.#warnIfLossy();
    }
    const old = this.#pair;
    const params = this.#params;
    let refused: unknown = null;
    await this.replaceListener(async () => {
      if (params.reusePort) return listenTlsPair(params, pair);
      try {
        return await bindAgain(params, pair);
      } catch (error) {
        // Without reusePort the old listener was closed first: put it back
        // so the server keeps serving the old certificate.
        refused = error;
        try {
          return await bindAgain(params, old);
        } catch (reopenError) {
          throw new AggregateError(
            [error, reopenError],
            `Cannot bind ${params.hostname}:${params.port} again: the server stopped accepting`,
          );
        }
      }
    }, !params.reusePort);
    if (refused !== null) throw refused;
    this.#pair = pair;
    this.#files = files;
  }
}
