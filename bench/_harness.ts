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

let clkTck: Promise<number> | null = null;

/**
 * User + system CPU seconds process `pid` has used so far, from
 * `/proc/<pid>/stat` (Linux; NaN elsewhere). Read with `cat`: Deno asks for
 * --allow-all to read /proc itself, `cat` needs only --allow-run.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    clkTck ??= new Deno.Command("getconf", { args: ["CLK_TCK"] }).output()
      .then((out) => Number(new TextDecoder().decode(out.stdout)) || 100)
      .catch(() => 100);
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`] })
      .output();
    const stat = new TextDecoder().decode(out.stdout);
    // Fields after the ")" that ends the command name; utime, stime are 14, 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / await clkTck;
  } catch {
    return NaN;
  }
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

/** What one h2load run printed. */
export interface H2loadFigures {
  rps: number;
  /** Requests that succeeded. */
  requests: number;
  /** Mean time per request in ms (h2load prints no percentiles). */
  meanMs: number;
  /** "N failed, N errored" when any did, else "". */
  errors: string;
}

/**
 * Runs h2load (nghttp2's load generator; `--h1` for HTTP/1.1) with `args`
 * and parses requests/s, the count that succeeded and the mean time per
 * request.
 *
 * @throws {Error} If h2load fails or prints no requests/s.
 */
export async function runH2load(args: string[]): Promise<H2loadFigures> {
  const out = await new Deno.Command("h2load", {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = /finished in [^,]+, ([\d.]+) req\/s/.exec(text);
  const counts = /(\d+) succeeded, (\d+) failed, (\d+) errored/.exec(text);
  if (!out.success || rps === null || counts === null) {
    throw new Error(`Unexpected h2load output: ${text}`);
  }
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(text);
  const failed = Number(counts[2]) + Number(counts[3]);
  return {
    rps: Number(rps[1]),
    requests: Number(counts[1]),
    meanMs: mean ? toMs(mean[1]!, mean[2]!) : NaN,
    errors: failed > 0 ? `${counts[2]} failed, ${counts[3]} errored` : "",
  };
}

/** Whether `command` runs: `command <versionFlag>` exits 0. */
export async function hasCommand(
  command: string,
  versionFlag = "--version",
): Promise<boolean> {
  try {
    return (await new Deno.Command(command, {
      args: [versionFlag],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}
