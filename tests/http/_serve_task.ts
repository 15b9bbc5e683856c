// `deno task serve` (serve/main.ts) in a child process, for the tests that
// run it as a user does.

import assert from "node:assert/strict";

/** serve/main.ts in a child process, listening. */
export interface ServeTask {
  port: number;
  child: Deno.ChildProcess;
  /** Everything on stdout so far, then until the exit. */
  output(): Promise<string>;
  stderr: Promise<string>;
}

/**
 * Runs serve/main.ts with `--port 0` and `args`; resolves once it prints
 * its "Listening on" line.
 */
export async function startServeTask(args: string[]): Promise<ServeTask> {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--unstable-net",
      "--allow-net=127.0.0.1,localhost",
      "--allow-read=testdata,serve,http,tls,concurrency",
      "serve/main.ts",
      "--port",
      "0",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let out = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
    port = Number(
      /Listening on https:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1] ?? 0,
    );
  }
  if (port === 0) {
    await child.status;
    assert.fail(`serve/main.ts did not listen: ${out}${await stderr}`);
  }
  return {
    port,
    child,
    stderr,
    output: async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        out += r.value;
      }
      return out;
    },
  };
}
