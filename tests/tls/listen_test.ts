import assert from "node:assert/strict";
import {
  tlsAcceptAsync,
  tlsCloseAsync,
  tlsConnectAsync,
  tlsListen,
} from "../../tls/mod.ts";
import { CA, CERT, KEY } from "./_util.ts";

const file = (name: string): string =>
  new URL(`../../testdata/${name}`, import.meta.url).pathname;

Deno.test("tlsListen() reads certFile and keyFile and offers ALPN", async () => {
  const listener = tlsListen({
    hostname: "127.0.0.1",
    port: 0,
    certFile: file("localhost.pem"),
    keyFile: file("localhost.key"),
    alpnProtocols: ["h2", "http/1.1"],
  });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept().then((c) => tlsAcceptAsync(c));
  try {
    const client = await tlsConnectAsync({
      hostname: "localhost",
      port,
      caCerts: [CA],
      alpnProtocols: ["h2"],
    });
    const server = await accepted;
    assert.equal(client.alpnProtocol, "h2");
    assert.equal(server.alpnProtocol, "h2");
    await Promise.all([tlsCloseAsync(client), tlsCloseAsync(server)]);
  } finally {
    listener.close();
  }
});

Deno.test("tlsListen() throws a TypeError unless exactly one certificate source is given", () => {
  assert.throws(() => tlsListen({ port: 0 }), TypeError);
  assert.throws(
    () =>
      tlsListen({
        port: 0,
        cert: CERT,
        key: KEY,
        certFile: file("localhost.pem"),
      }),
    TypeError,
  );
  assert.throws(() => tlsListen({ port: 0, cert: CERT }), TypeError);
  assert.throws(
    () => tlsListen({ port: 0, keyFile: file("localhost.key") }),
    TypeError,
  );
});
