import { TlsError } from "./errors.ts";

// rustls reports refused certificates as "invalid peer certificate: ..." on the
// verifying side and as these alerts on the other side.
const CERT_ALERT =
  /invalid peer certificate|CertificateExpired|BadCertificate|UnknownCA|CertificateUnknown|UnsupportedCertificate|CertificateRevoked|CertificateRequired/;

/** Whether the handshake or the data phase failed; decides what an EOF means. */
export type Phase = "handshake" | "data";

/** Turns an error from a Deno TLS operation into a TlsError (TlsErrors pass through). */
export function toTlsError(
  e: unknown,
  phase: Phase,
  signal?: AbortSignal,
): unknown {
  if (
    e instanceof TlsError || e instanceof DOMException || !(e instanceof Error)
  ) return e;
  // A cancel rejects with the signal's reason itself, whatever it is.
  if (signal !== undefined && signal.aborted && e === signal.reason) return e;
  if (!isDenoError(e)) return e;
  const msg = e.message;
  if (e instanceof Deno.errors.InvalidData) {
    if (CERT_ALERT.test(msg)) {
      return new TlsError("certificate", `Certificate refused: ${msg}`, {
        cause: e,
      });
    }
    return phase === "handshake"
      ? new TlsError("handshake", `TLS handshake failed: ${msg}`, { cause: e })
      : new TlsError("protocol", `Corrupt TLS data from the peer: ${msg}`, {
        cause: e,
      });
  }
  if (e instanceof Deno.errors.UnexpectedEof) {
    return phase === "handshake"
      ? new TlsError(
        "handshake",
        `Peer closed the connection during the TLS handshake: ${msg}`,
        {
          cause: e,
        },
      )
      : new TlsError(
        "truncated",
        `Peer ended the stream without close_notify: ${msg}`,
        {
          cause: e,
        },
      );
  }
  if (
    e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted
  ) {
    return new TlsError("reset", `Connection reset by the peer: ${msg}`, {
      cause: e,
    });
  }
  if (
    e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted
  ) {
    return new TlsError("closed", `Connection is closed: ${msg}`, { cause: e });
  }
  return new TlsError("io", `TLS I/O failed: ${msg}`, { cause: e });
}

function isDenoError(e: Error): boolean {
  for (const cls of Object.values(Deno.errors)) {
    if (e instanceof cls) return true;
  }
  return false;
}

/** The error every operation on a closed stream rejects with. */
export function closedError(what: string): TlsError {
  return new TlsError("closed", `Cannot ${what}: the TLS stream is closed`);
}

/** Closes `conn`; one that Deno already released is not an error here. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
}
