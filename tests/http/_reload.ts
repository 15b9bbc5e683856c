// Helpers of the certificate reload tests: which certificate a new
// connection is served.

import assert from "node:assert/strict";

export const CERT2 = await Deno.readTextFile("testdata/localhost2.pem");
export const KEY2 = await Deno.readTextFile("testdata/localhost2.key");

/** The first PEM certificate in `text`, without carriage returns. */
export function firstPem(text: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/
    .exec(text);
  assert.ok(m, `No certificate in ${JSON.stringify(text.slice(0, 200))}`);
  return m[0].replace(/\r/g, "");
}

/** The leaf certificate a new connection sees, as openssl prints it. */
export async function servedCert(port: number): Promise<string> {
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

/** The first test pair, as files. */
export const FILES = {
  certFile: "testdata/localhost.pem",
  keyFile: "testdata/localhost.key",
};

/** The second valid pair (another leaf of the test CA), as files. */
export const FILES2 = {
  certFile: "testdata/localhost2.pem",
  keyFile: "testdata/localhost2.key",
};
