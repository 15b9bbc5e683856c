// Shared by the server benchmarks: a server in its own `deno run` subprocess
// (it prints `PORT <n>` once listening) and the wrk load generator.

/** A server subprocess that is listening. */
export interface ServerProcess {
  port: number;
  pid: number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Runs `deno run <args>` and resolves once the child has printed
 * `PORT <n>` on stdout.
 */
export async function spawnServer(
  name: string,
  args: string[],
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server ${name} exited before listening`);
    seen += value;
    port = Number(/PORT (\d+)/.exec(seen)?.[1] ?? 0);
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel();
    },
  };
}

/** What one wrk run printed. */
export interface WrkFigures {
  rps: number;
  /** Latency percentiles in ms (NaN without `--latency`). */
  p50: number;
  p99: number;
  /** "Socket errors: …" or "Non-2xx …", else "". */
  errors: string;
  /** The whole output, for figures a caller parses itself. */
  text: string;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/**
 * Runs wrk with `args` (threads, connections, duration, headers, URL) and
 * parses requests/s and, with `--latency`, p50 and p99.
 *
 * @throws {Error} If wrk fails or prints no requests/s.
 */
export async function runWrk(args: string[]): Promise<WrkFigures> {
  const out = await new Deno.Command("wrk", { args, stderr: "inherit" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!out.success || rps === null) {
    throw new Error(`Unexpected wrk output: ${text}`);
  }
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(text);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text);
  return {
    rps: Number(rps[1]),
    p50: p50 ? toMs(p50[1]!, p50[2]!) : NaN,
    p99: p99 ? toMs(p99[1]!, p99[2]!) : NaN,
    errors: /Socket errors:.*|Non-2xx.*/.exec(text)?.[0] ?? "",
    text,
  };
}

/**
 * A short wrk run whose figures are thrown away: warms the server's JIT on
 * the same kind of traffic as the measurement (`extra`: e.g. the
 * `Connection: close` header), so no server is measured while it compiles.
 */
export async function warmUp(
  url: string,
  connections: number,
  extra: string[] = [],
): Promise<void> {
  await new Deno.Command("wrk", {
    args: ["-t1", `-c${connections}`, "-d1s", ...extra, url],
    stdout: "null",
  }).output();
}
