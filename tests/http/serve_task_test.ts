// `deno task serve` (serve/main.ts) as a user runs it: its own process, the
// demo app's routes over TLS, its flags, and a graceful stop on SIGINT.

import assert from "node:assert/strict";
import { tlsConnectAsync } from "../../tls/mod.ts";
import { CA, fetchClient, RawClient } from "./_helpers.ts";
import { startServeTask } from "./_serve_task.ts";

async function raw(port: number): Promise<RawClient> {
  return new RawClient(
    await tlsConnectAsync({
      hostname: "localhost",
      port,
      caCerts: [CA],
      timeoutMs: 5_000,
    }),
  );
}

Deno.test("deno task serve: the demo app's routes, its flags, and a graceful SIGINT", async () => {
  const task = await startServeTask([
    "--hostname",
    "127.0.0.1",
    "--cert",
    "testdata/localhost.pem",
    "--key",
    "testdata/localhost.key",
    "--header-timeout",
    "300",
    "--grace",
    "5000",
  ]);
  const client = fetchClient();
  const base = `https://localhost:${task.port}`;
  let exited = false;
  task.child.status.then(() => exited = true);
  let clientOpen = true;
  try {
    const get = await fetch(`${base}/`, { client });
    assert.equal(get.status, 200);
    assert.match(get.headers.get("content-type")!, /^text\/plain/);
    assert.equal(
      await get.text(),
      "Hello from @quartz/std httpServeTlsOpts\n",
    );

    // Other methods on / get 405 with Allow, which OPTIONS turns into 204.
    const post = await fetch(`${base}/`, { client, method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();
    const options = await fetch(`${base}/`, { client, method: "OPTIONS" });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get("allow"), "GET, HEAD");
    await options.body?.cancel();

    // /echo: a chunked body and a sized one, each with its content type.
    const json = JSON.stringify({ hello: "wörld", n: [1, 2, 3] });
    const chunked = await fetch(`${base}/echo`, {
      client,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ReadableStream.from([json.slice(0, 7), json.slice(7)]).pipeThrough(
        new TextEncoderStream(),
      ),
    });
    assert.equal(chunked.headers.get("content-type"), "application/json");
    assert.deepEqual(await chunked.json(), JSON.parse(json));
    const sized = await fetch(`${base}/echo`, {
      client,
      method: "PUT",
      headers: { "content-type": "text/csv" },
      body: "a,b\n1,2\n",
    });
    assert.equal(sized.headers.get("content-type"), "text/csv");
    assert.equal(await sized.text(), "a,b\n1,2\n");

    // /stream: lines that come apart in time are chunked on the wire; the
    // same lines all there at once go out with a Content-Length.
    {
      await using whole = await raw(task.port);
      await whole.send(
        "GET /stream?n=3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      const text = await whole.readToEnd();
      assert.match(text, /\r\ncontent-length: 21\r\n/i);
      assert.ok(text.endsWith("\r\n\r\nline 0\nline 1\nline 2\n"), text);
    }
    {
      await using stream = await raw(task.port);
      await stream.send(
        "GET /stream?n=3&ms=20 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      );
      const text = await stream.readToEnd();
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\ntransfer-encoding: chunked\r\n/i);
      assert.ok(text.endsWith("\r\n0\r\n\r\n"), text);
      assert.equal(dechunk(text), "line 0\nline 1\nline 2\n");
    }

    const slept = await fetch(`${base}/sleep?ms=20`, { client });
    assert.equal(await slept.text(), "Slept 20 ms\n");

    // --header-timeout: a head that stops coming gets 408 and the close.
    {
      await using slow = await raw(task.port);
      await slow.send("GET / HTTP/1.1\r\nHost: loc");
      assert.match(await slow.readToEnd(), /^HTTP\/1\.1 408 /);
    }

    const health = await fetch(`${base}/healthz`, { client });
    const stats = await health.json();
    assert.ok(stats.requestsServed >= 8, JSON.stringify(stats));
    assert.equal(stats.timeouts.header, 1);
    assert.equal(stats.requestsInFlight, 1); // this request

    // /sleep honours info.signal: when its client leaves, the handler ends.
    const inFlight = async () =>
      (await (await fetch(`${base}/healthz`, { client })).json())
        .requestsInFlight as number;
    {
      const gone = await raw(task.port);
      await gone.send(
        "GET /sleep?ms=600000 HTTP/1.1\r\nHost: localhost\r\n\r\n",
      );
      await until(async () => await inFlight() === 2); // and /healthz itself
      await gone[Symbol.asyncDispose]();
      await until(async () => await inFlight() === 1);
    }

    // SIGINT with a request in flight and an idle keep-alive connection.
    await using idle = await raw(task.port);
    await idle.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.match(await idle.readResponse(), /^HTTP\/1\.1 200 OK\r\n/);
    await using busy = await raw(task.port);
    await busy.send("GET /sleep?ms=400 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // Wait until the server has it: in flight next to /healthz itself.
    await until(async () => await inFlight() === 2);
    client.close();
    clientOpen = false;
    task.child.kill("SIGINT");
    // The idle connection closes at once; the sleeping request is answered
    // whole, with Connection: close.
    assert.equal(await idle.readToEnd(), "");
    const last = await busy.readToEnd();
    assert.match(last, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(last, /\r\nconnection: close\r\n/i);
    assert.ok(last.endsWith("\r\n\r\nSlept 400 ms\n"), last);
    // The 600 s sleep whose client left ended with its signal: nothing keeps
    // the process alive (if it ignored the signal, the process would wait
    // for it; 30 s is only a bound on the failure).
    let bound: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      task.child.status,
      new Promise<never>((_, reject) =>
        bound = setTimeout(
          () => reject(new Error("still running 30 s after SIGINT")),
          30_000,
        )
      ),
    ]).finally(() => clearTimeout(bound));
    const out = await task.output();
    assert.equal(status.code, 0, await task.stderr);
    assert.match(out, /SIGINT: draining for up to 5000 ms\n/);
    assert.match(out, /Stopped\n$/);
    // Nothing listens any more.
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: task.port }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    if (clientOpen) client.close();
    if (!exited) task.child.kill("SIGKILL");
    await task.child.status;
    await task.output();
    await task.stderr;
  }
});

Deno.test("deno task serve refuses an unknown flag and names the known ones", async () => {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read=testdata,serve,http,tls,concurrency",
      "serve/main.ts",
      "--prot",
      "8443",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.success, false);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.match(stderr, /Unknown flag --prot; known: --port, --hostname/);
});

/** Polls `done` every 20 ms for up to 10 s. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await done()); tries++) {
    assert.ok(tries < 500, "gave up waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The body of a chunked response (the head and the framing removed). */
function dechunk(response: string): string {
  let rest = response.slice(response.indexOf("\r\n\r\n") + 4);
  let body = "";
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return body;
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
