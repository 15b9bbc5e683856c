// reloadCertificates(): new connections get the new pair, a bad pair is
// refused and the old one stays in use; certReloadHandover() and the warning
// a lossy reload logs. Reloads under load: cert_reload_load_test.ts.

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import {
  certReloadHandover,
  httpServeTlsOpts,
  type HttpsServer,
} from "../../http/mod.ts";
import { CA, CERT, KEY } from "./_helpers.ts";
import { CERT2, FILES, FILES2, firstPem, KEY2, servedCert } from "./_reload.ts";

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

Deno.test("certReloadHandover() answers refuse without reusePort and rejects a non-server", async () => {
  assert.equal(await certReloadHandover({ reusePort: false }), "refuse");
  assert.throws(
    () => certReloadHandover(null as unknown as HttpsServer),
    /^TypeError: Invalid server null: expected an HttpsServer$/,
  );
  const server = start({ cert: CERT, key: KEY }, false);
  try {
    assert.equal(await certReloadHandover(server), "refuse");
  } finally {
    await server.shutdown({ graceMs: 1_000 });
  }
});

Deno.test("reloadCertificates() warns once through LogTape when reloads can lose connects", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { mem: (r: LogRecord) => void records.push(r) },
    loggers: [
      { category: ["quartz", "http"], sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  const lossy = start({ cert: CERT, key: KEY }, false);
  const shared = start({ cert: CERT, key: KEY });
  try {
    await lossy.reloadCertificates({ cert: CERT2, key: KEY2 });
    await lossy.reloadCertificates({ cert: CERT, key: KEY });
    const warnings = records.map((r) => `${r.level} ${r.message.join("")}`);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0]!,
      /^warning Certificate reload is not zero-loss: without reusePort .* refused$/,
    );

    // With reusePort, a warning exactly when the kernel does not migrate.
    records.length = 0;
    const mode = await certReloadHandover(shared);
    await shared.reloadCertificates({ cert: CERT2, key: KEY2 });
    await shared.reloadCertificates({ cert: CERT, key: KEY });
    assert.equal(records.length, mode === "migrate" ? 0 : 1, mode);
  } finally {
    await Promise.all([
      lossy.shutdown({ graceMs: 1_000 }),
      shared.shutdown({ graceMs: 1_000 }),
    ]);
    await reset();
  }
});
