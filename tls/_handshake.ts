import { raceDeadline } from "./_deadline.ts";
import { closeQuietly, toTlsError } from "./_map_error.ts";
import { TlsStream } from "./stream.ts";

/**
 * Runs `conn.handshake()` bounded by `timeoutMs` and `signal`; on any failure
 * the connection is closed before the promise rejects. `onAbandon` runs when
 * the handshake is given up (timeout or cancel) rather than failed.
 */
export async function handshake(
  conn: Deno.TlsConn,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  onAbandon?: () => void,
): Promise<TlsStream> {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeQuietly(conn);
  };
  const hs = conn.handshake();
  try {
    const info = await raceDeadline(
      hs,
      timeoutMs,
      signal,
      "TLS handshake",
      () => {
        onAbandon?.();
        close();
      },
    );
    return new TlsStream(conn, info.alpnProtocol);
  } catch (e) {
    close();
    // The handshake op rejects once the connection is closed; wait for it so
    // no op outlives this call.
    await hs.catch(() => {});
    throw toTlsError(e, "handshake", signal);
  }
}
