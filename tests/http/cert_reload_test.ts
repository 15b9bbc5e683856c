// reloadCertificates(): new connections get the new pair, open ones stay,
// a bad pair is refused and the old one stays in use.

import assert from "node:assert/strict";
import { httpServeTlsOpts, type HttpsServer } from "../../http/mod.ts";
import { CA, CERT, KEY, RawClient } from "./_helpers.ts";

const CERT2 = await Deno.readTextFile("testdata/localhost2.pem");
const KEY2 = await Deno.readTextFile("testdata/localhost2.key");
const FILES = {
  certFile: "testdata/localhost.pem",
  keyFile: "testdata/localhost.key",
};
const FILES2 = {
  certFile: "testdata/localhost2.pem",
  keyFile: "testdata/localhost2.key",
};

function firstPem(text: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/
    .exec(text);
  assert.ok(m, `No certificate in ${JSON.stringify(text.slice(0, 200))}`);
  return m[0].replace(/\r/g, "");
}

/** The leaf certificate a fresh connection sees, as openssl prints it. */
async function servedCert(port: number): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-servername",
      "localhost",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return firstPem(new TextDecoder().decode(out.stdout));
}

function start(
  tls: { certFile: string; keyFile: string } | { cert: string; key: string },
  reusePort?: boolean,
): HttpsServer {
  return httpServeTlsOpts(
    { hostname: "127.0.0.1", port: 0 },
    reusePort === undefined ? tls : { ...tls, reusePort },
    (_req, info) =>
      new Response(`${info.remoteAddr.port} ${info.requestIndex}`),
  );
}

async function get(
  port: number,
  client: Deno.HttpClient,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`https://localhost:${port}/`, { client });
  return { status: res.status, body: await res.text() };
}

Deno.test("reloadCertificates() serves the new certificate to new connections under load, with no failed request", async () => {
  const server = start(FILES);
  const port = server.addr.port;
  assert.equal(firstPem(await servedCert(port)), firstPem(CERT));
  const failures: unknown[] = [];
  let fresh = 0;
  let reused = 0;
  let resets = 0;
  let stop = false;
  // Clients opening a new connection per request, so some connect during
  // the swap, and one keep-alive client.
  const loaders = Array.from({ length: 3 }, async () => {
    while (!stop) {
      for (let attempt = 0;; attempt++) {
        const client = Deno.createHttpClient({ caCerts: [CA] });
        try {
          const { status } = await get(port, client);
          if (status !== 200) failures.push(status);
          fresh++;
          break;
        } catch (error) {
          // The documented residue: a connection queued on the old listener
          // as it closes is reset before its handshake; a retry succeeds.
          const connectReset = attempt < 2 &&
            /\(Connect\).*reset/i.test(String((error as Error).cause));
          if (!connectReset) {
            failures.push(error);
            break;
          }
          resets++;
        } finally {
          client.close();
        }
      }
    }
  });
  const keepAlive = (async () => {
    const client = Deno.createHttpClient({ caCerts: [CA] });
    try {
      while (!stop) {
        const { status, body } = await get(port, client);
        if (status !== 200) failures.push(status);
        if (!body.endsWith(" 0")) reused++;
      }
    } catch (error) {
      failures.push(error);
    } finally {
      client.close();
    }
  })();
  // A raw keep-alive connection opened on the old certificate.
  await using raw = await RawClient.tls(server);
  await raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  assert.match(await raw.readResponse(), /^HTTP\/1\.1 200 /);

  // Several swaps, ending on the second pair, each while clients connect.
  for (const files of [FILES2, FILES, FILES2, FILES, FILES2]) {
    await new Promise((resolve) => setTimeout(resolve, 40));
    await server.reloadCertificates(files);
  }
  const after = fresh;
  assert.equal(firstPem(await servedCert(port)), firstPem(CERT2));

  // The connection made before the reload is still served.
  await raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const second = await raw.readResponse();
  assert.match(second, /^HTTP\/1\.1 200 /);
  assert.match(second, / 1$/);

  await new Promise((resolve) => setTimeout(resolve, 150));
  stop = true;
  await Promise.all([...loaders, keepAlive]);
  raw.close();
  await server.shutdown({ graceMs: 1_000 });
  assert.deepEqual(failures, []);
  // Each swap can reset only what sits in the old backlog at that instant
  // (about 0.2 connections per swap at this rate).
  assert.ok(resets <= 10, `${resets} connections reset in 5 swaps`);
  assert.ok(fresh > after, `No request after the reload (${fresh} in all)`);
  assert.ok(reused > 0, "The keep-alive client never reused its connection");
});

Deno.test("reloadCertificates() refuses a key that does not match the certificate and keeps the old pair", async () => {
  const server = start({ cert: CERT, key: KEY });
  try {
    await assert.rejects(
      server.reloadCertificates({ cert: CERT2, key: KEY }),
      (error: unknown) =>
        error instanceof TypeError &&
        /^Invalid certificate or key: .*KeyMismatch/.test(error.message),
    );
    assert.equal(firstPem(await servedCert(server.addr.port)), firstPem(CERT));
    const client = Deno.createHttpClient({ caCerts: [CA] });
    try {
      assert.equal((await get(server.addr.port, client)).status, 200);
    } finally {
      client.close();
    }
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() refuses garbage PEM with a TypeError", async () => {
  const server = start({ cert: CERT, key: KEY });
  try {
    const garbage =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
    await assert.rejects(
      server.reloadCertificates({ cert: garbage, key: KEY }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith("Invalid certificate or key: "),
    );
    await assert.rejects(
      server.reloadCertificates({ cert: "", key: "" }),
      TypeError,
    );
    assert.equal(firstPem(await servedCert(server.addr.port)), firstPem(CERT));
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() without options re-reads the files last loaded", async () => {
  const server = start(FILES);
  try {
    await server.reloadCertificates(FILES2);
    await server.reloadCertificates();
    assert.equal(firstPem(await servedCert(server.addr.port)), firstPem(CERT2));
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() without options rejects for a server started with PEM text", async () => {
  const server = start({ cert: CERT, key: KEY });
  try {
    await assert.rejects(
      server.reloadCertificates(),
      /^TypeError: Cannot reload certificates: the server was started with PEM text/,
    );
    await assert.rejects(
      server.reloadCertificates({ cert: CERT2 }),
      /give cert and key together/,
    );
    await assert.rejects(
      server.reloadCertificates({
        certFile: "testdata/missing.pem",
        keyFile: "testdata/missing.key",
      }),
      Deno.errors.NotFound,
    );
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() without reusePort reopens the listener with the new pair", async () => {
  const server = start({ cert: CERT, key: KEY }, false);
  try {
    assert.equal(server.reusePort, false);
    await server.reloadCertificates({ cert: CERT2, key: KEY2 });
    assert.equal(firstPem(await servedCert(server.addr.port)), firstPem(CERT2));
    await assert.rejects(
      server.reloadCertificates({ cert: CERT, key: KEY2 }),
      TypeError,
    );
    assert.equal(firstPem(await servedCert(server.addr.port)), firstPem(CERT2));
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() rejects once the server is shutting down", async () => {
  const server = start({ cert: CERT, key: KEY });
  const finished = server.shutdown({ graceMs: 1_000 });
  await assert.rejects(
    server.reloadCertificates({ cert: CERT2, key: KEY2 }),
    Deno.errors.BadResource,
  );
  await finished;
});
