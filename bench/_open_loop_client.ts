// An open-loop HTTP/1.1 load generator over TLS, after wrk2: a fixed pool of
// persistent connections opened (handshake done) before the run, requests
// scheduled at a constant rate, and each latency measured from the
// request's intended send time, so a request that waited for a free
// connection, or for the client's event loop, is charged for it (no
// coordinated omission). No connection is opened during the run unless the
// server closes one (counted as a reconnect). Nagle is off (TCP_NODELAY, as
// browsers and curl do): with it on, ~1% of the responses took ~40 ms more.

/** Where to send the load. */
export interface Target {
  /** Name to connect to and to check the certificate against. */
  hostname: string;
  port: number;
  /** PEM certificates of the CA that signed the server's. */
  caCerts: string[];
}

/** What one run measured. */
export interface LoadResult {
  /** Requests scheduled. */
  sent: number;
  /** Latencies of 200 responses, ms from the intended send time. */
  ok: number[];
  /** Latencies of 503 responses, ms from the intended send time. */
  shed: number[];
  /** Responses with another status. */
  other: number;
  /** Requests not answered within the timeout (sent or not). */
  timeouts: number;
  /** Requests that found every connection busy at their send time. */
  waitedForConnection: number;
  /** Connections the server closed and the client opened again. */
  reconnects: number;
  /** Most requests outstanding at once (sent or waiting for a connection). */
  maxOutstanding: number;
  /**
   * Send delay (actual - intended) of the requests that found a free
   * connection, ms: the client's own lag.
   */
  sendLag: number[];
  /** From the start to the last answer, seconds. */
  elapsed: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLFCRLF = [13, 10, 13, 10];

interface Pending {
  intended: number;
  resolve: (status: number) => void;
  reject: (error: unknown) => void;
}

/** One persistent connection; one request at a time, no pipelining. */
class Connection {
  #conn: Deno.TlsConn;
  #request: Uint8Array;
  #buf = new Uint8Array(16 * 1024);
  #len = 0;
  #current: Pending | undefined;
  closed = false;

  private constructor(conn: Deno.TlsConn, request: Uint8Array) {
    this.#conn = conn;
    this.#request = request;
    void this.#readLoop();
  }

  static async open(t: Target): Promise<Connection> {
    // Nagle off: Deno.connectTls gives no way to turn it off.
    const tcp = await Deno.connect({ hostname: t.hostname, port: t.port });
    tcp.setNoDelay(true);
    const conn = await Deno.startTls(tcp, {
      hostname: t.hostname,
      caCerts: t.caCerts,
    });
    await conn.handshake();
    const request = encoder.encode(
      `GET / HTTP/1.1\r\nHost: ${t.hostname}:${t.port}\r\n\r\n`,
    );
    return new Connection(conn, request);
  }

  /** Sends one GET in one write; resolves with the status. */
  send(p: Pending): void {
    this.#current = p;
    this.#conn.write(this.#request).catch((e) => this.#fail(e));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer */ }
    this.#fail(new Error("Connection closed"));
  }

  #fail(error: unknown): void {
    const p = this.#current;
    this.#current = undefined;
    p?.reject(error);
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.#len === this.#buf.length) {
          const bigger = new Uint8Array(this.#buf.length * 2);
          bigger.set(this.#buf);
          this.#buf = bigger;
        }
        const n = await this.#conn.read(this.#buf.subarray(this.#len));
        if (n === null) break;
        this.#len += n;
        while (this.#parse());
      }
    } catch (error) {
      this.#fail(error);
    }
    this.close();
  }

  /** Takes one complete response off the buffer, if there is one. */
  #parse(): boolean {
    const buf = this.#buf;
    const end = indexOf(buf, this.#len, CRLFCRLF);
    if (end < 0) return false;
    const head = decoder.decode(buf.subarray(0, end));
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    let bodyEnd = end + 4;
    if (cl !== null) {
      bodyEnd += Number(cl[1]);
      if (this.#len < bodyEnd) return false;
    } else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      const last = indexOf(
        buf.subarray(bodyEnd),
        this.#len - bodyEnd,
        [48, 13, 10, 13, 10],
      );
      if (last < 0) return false;
      bodyEnd += last + 5;
    }
    buf.copyWithin(0, bodyEnd, this.#len);
    this.#len -= bodyEnd;
    const close = /\r\nconnection:\s*close/.test(lower);
    const p = this.#current;
    this.#current = undefined;
    if (close) this.close();
    p?.resolve(status);
    return !close;
  }
}

function indexOf(buf: Uint8Array, len: number, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= len; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (buf[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * Offers `rate` requests per second for `seconds` over `connections`
 * pre-opened connections; waits up to `timeoutMs` for the last answers.
 */
export async function openLoop(
  target: Target,
  rate: number,
  seconds: number,
  options: { connections: number; timeoutMs: number },
): Promise<LoadResult> {
  const out: LoadResult = {
    sent: 0,
    ok: [],
    shed: [],
    other: 0,
    timeouts: 0,
    waitedForConnection: 0,
    reconnects: 0,
    maxOutstanding: 0,
    sendLag: [],
    elapsed: 0,
  };
  const idle: Connection[] = await Promise.all(
    Array.from({ length: options.connections }, () => Connection.open(target)),
  );
  const all = new Set(idle);
  const backlog: number[] = []; // intended times waiting for a connection
  let head = 0;
  let outstanding = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => done = r);
  let scheduling = true;
  let stopping = false;

  const release = async (c: Connection) => {
    if (stopping) return;
    if (c.closed) {
      all.delete(c);
      out.reconnects++;
      try {
        c = await Connection.open(target);
      } catch {
        return; // counted as timeouts when the run ends
      }
      all.add(c);
      if (stopping) return c.close();
    }
    const now = performance.now();
    // Requests already past their timeout are not sent any more.
    while (head < backlog.length && now - backlog[head]! >= options.timeoutMs) {
      head++;
      out.timeouts++;
      outstanding--;
    }
    if (head < backlog.length) issue(c, backlog[head++]!);
    else idle.push(c);
    if (!scheduling && outstanding === 0) done();
  };

  // Round robin, so no connection sits idle into the server's keep-alive
  // timeout; one the server closed anyway is opened again first.
  const take = (): Connection | undefined => {
    for (;;) {
      const c = idle.shift();
      if (c === undefined || !c.closed) return c;
      void release(c);
    }
  };

  const issue = (c: Connection, intended: number) => {
    c.send({
      intended,
      resolve: (status) => {
        const ms = performance.now() - intended;
        outstanding--;
        if (ms >= options.timeoutMs) out.timeouts++;
        else if (status === 200) out.ok.push(ms);
        else if (status === 503) out.shed.push(ms);
        else out.other++;
        void release(c);
      },
      reject: () => {
        outstanding--;
        out.timeouts++;
        void release(c);
      },
    });
  };

  const start = performance.now();
  const interval = 1000 / rate;
  for (;;) {
    const now = performance.now();
    if (now - start >= seconds * 1000) break;
    const due = Math.floor((now - start) / interval) + 1;
    while (out.sent < due) {
      const intended = start + out.sent * interval;
      out.sent++;
      outstanding++;
      const c = take();
      if (c !== undefined) {
        out.sendLag.push(performance.now() - intended);
        issue(c, intended);
      } else {
        out.waitedForConnection++;
        backlog.push(intended);
      }
    }
    if (outstanding > out.maxOutstanding) out.maxOutstanding = outstanding;
    const next = start + out.sent * interval;
    await new Promise((r) => setTimeout(r, Math.max(0, next - now)));
  }
  scheduling = false;
  if (outstanding > 0) {
    const timer = setTimeout(done, options.timeoutMs);
    await finished;
    clearTimeout(timer);
  }
  out.elapsed = (performance.now() - start) / 1000;
  // What is still unanswered timed out: the requests never sent, and the
  // ones in flight, failed (and counted) by closing their connections.
  stopping = true;
  out.timeouts += backlog.length - head;
  for (const c of all) c.close();
  return out;
}

/** Closed loop with `n` connections for `seconds`: 200 responses per second. */
export async function closedLoop(
  target: Target,
  n: number,
  seconds: number,
): Promise<number> {
  const conns = await Promise.all(
    Array.from({ length: n }, () => Connection.open(target)),
  );
  let ok = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(conns.map(async (c) => {
    while (performance.now() < end && !c.closed) {
      const status = await new Promise<number>((resolve, reject) =>
        c.send({ intended: 0, resolve, reject })
      ).catch(() => 0);
      if (status === 200) ok++;
    }
    c.close();
  }));
  return ok / seconds;
}
