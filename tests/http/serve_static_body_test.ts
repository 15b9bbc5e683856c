// Responses whose whole body is given up front (string, bytes, JSON, form
// data) are written without a ReadableStream: same bytes on the wire as the
// stream path, a Content-Length, and the body marked used.

import assert from "node:assert/strict";
import {
  knownLengthSupported,
  serveFastSupported,
  staticBodySupported,
} from "../../http/_static_body.ts";
import { RawClient, startTcp } from "./_helpers.ts";

const H = "Host: a\r\n";

async function exchange(
  handler: (req: Request) => Response | Promise<Response>,
  request: string,
): Promise<string> {
  // A kept-alive connection ends soon after its response.
  const server = startTcp(handler, { keepAliveTimeoutMs: 100 });
  try {
    const client = await RawClient.tcp(server);
    await client.send(request);
    const text = await client.readToEnd();
    client.close();
    return text;
  } finally {
    await server.shutdown();
  }
}

function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

Deno.test("writeResponse() reads complete bodies without a stream on this Deno", () => {
  // Fails when a Deno upgrade changes the Response internals it reads; the
  // server then still works, through the stream path.
  assert.equal(staticBodySupported, true);
});

Deno.test("httpServeOpts() sends string, bytes, JSON and form bodies with their length", async () => {
  const cases: [Response, string, string][] = [
    [
      new Response("héllo wörld", { status: 201, headers: { "x-a": "1" } }),
      "héllo wörld",
      "text/plain;charset=UTF-8",
    ],
    [new Response(new Uint8Array([104, 105])), "hi", ""],
    [Response.json({ a: [1, 2] }), '{"a":[1,2]}', "application/json"],
    [
      new Response(new URLSearchParams("q=a b")),
      "q=a+b",
      "application/x-www-form-urlencoded;charset=UTF-8",
    ],
    [new Response(""), "", "text/plain;charset=UTF-8"],
  ];
  for (const [res, body, type] of cases) {
    const status = res.status;
    const text = await exchange(
      () => res,
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    const bytes = new TextEncoder().encode(body).length;
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.match(text, new RegExp(`\r\ncontent-length: ${bytes}\r\n`));
    assert.doesNotMatch(text, /transfer-encoding/i);
    if (type !== "") assert.ok(text.includes(`content-type: ${type}\r\n`));
    // RawClient decodes UTF-8: the length above is in bytes.
    assert.equal(bodyOf(text), body);
    assert.equal(res.bodyUsed, true);
  }
});

Deno.test("httpServeOpts() answers HEAD for a complete body with its length and no body", async () => {
  const text = await exchange(
    () => new Response("twelve bytes"),
    `HEAD / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-length: 12\r\n/);
  assert.equal(bodyOf(text), "");
});

Deno.test("httpServeOpts() sends a complete body over 64 KiB whole", async () => {
  const big = "x".repeat(200_000);
  const text = await exchange(
    () => new Response(big),
    `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-length: 200000\r\n/);
  assert.equal(bodyOf(text), big);
});

Deno.test("httpServeOpts() answers a Response used twice with 500 the second time", async () => {
  const shared = new Response("once");
  const errors: unknown[] = [];
  const server = startTcp(() => shared, {
    onError: (error) => void errors.push(error),
  });
  try {
    const client = await RawClient.tcp(server);
    await client.send(`GET / HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}\r\n`);
    const first = await client.readResponse();
    const second = await client.readToEnd();
    client.close();
    assert.match(first, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nonce$/);
    assert.match(second, /^HTTP\/1\.1 500 /);
    assert.equal(errors.length, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("writeResponse() writes no-init responses without their Headers on this Deno", () => {
  // Fails when a Deno upgrade changes the "serve fast" fields it reads; the
  // server then still works, through the headers.
  assert.equal(serveFastSupported, true);
});

/** The head's lines minus the Date value, sorted, and the body. */
function normalised(text: string): [string, string[], string] {
  const end = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const kept = lines.filter((l) => !l.startsWith("date: ")).sort();
  return [statusLine!, kept, text.slice(end + 4)];
}

/**
 * Asserts that two handlers' responses read the same on the wire (Date
 * aside, header order aside) for GET and HEAD with Connection: close and an
 * HTTP/1.0 keep-alive GET.
 */
async function assertSameOnWire(
  name: string,
  a: () => Response,
  b: () => Response,
): Promise<void> {
  const requests = [
    `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    `HEAD / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    `GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`,
  ];
  for (const request of requests) {
    const one = await exchange(a, request);
    const other = await exchange(b, request);
    assert.match(one, /^HTTP\/1\.1 \d{3} /, `${name}: ${request}`);
    assert.deepEqual(
      normalised(one),
      normalised(other),
      `${name}: ${JSON.stringify(request)}`,
    );
  }
}

Deno.test("httpServeOpts() writes a no-init response exactly as the same response with its headers read", async () => {
  // Reading `res.headers` in the handler takes the general path.
  const makers: [string, () => Response][] = [
    ["ascii text", () => new Response("Hello World!")],
    ["empty text", () => new Response("")],
    ["non-ASCII text", () => new Response("héllo wörld ✓")],
    ["bytes", () => new Response(new Uint8Array([104, 105]))],
    ["JSON", () => Response.json({ a: [1, "é"] })],
    ["large text", () => new Response("y".repeat(70_000))],
  ];
  for (const [name, make] of makers) {
    await assertSameOnWire(name, make, () => {
      const res = make();
      res.headers.get("content-type");
      return res;
    });
  }
});

Deno.test("httpServeOpts() writes the handler's header list: lowercased, repeated names on their own lines", async () => {
  const text = await exchange(
    () =>
      new Response("x", {
        headers: [
          ["X-Multi", "1"],
          ["x-multi", "2"],
          ["Set-Cookie", "a=1"],
          ["Set-Cookie", "b=2"],
          ["Content-Length", "1"],
          ["Transfer-Encoding", "chunked"],
        ],
      }),
    `GET / HTTP/1.1\r\n${H}\r\n`,
  );
  assert.match(text, /\r\nx-multi: 1\r\nx-multi: 2\r\n/);
  assert.match(text, /\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n/);
  // Framing is the server's: one content-length, no transfer-encoding.
  assert.equal(text.match(/content-length/gi)?.length, 1);
  assert.doesNotMatch(text, /transfer-encoding/i);
  assert.equal(bodyOf(text), "x");
});

Deno.test("httpServeOpts() closes when the handler's response says Connection: close", async () => {
  const server = startTcp(() =>
    new Response("bye", { headers: { Connection: "keep-alive, Close" } })
  );
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      `GET / HTTP/1.1\r\n${H}\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    );
    const text = await client.readToEnd();
    client.close();
    // One response, then the close: the second request is not answered.
    assert.equal(text.match(/HTTP\/1\.1 200/g)?.length, 1);
    assert.match(text, /\r\nconnection: close\r\n/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("writeResponse() knows the size of Blob and FormData bodies on this Deno", () => {
  // Fails when a Deno upgrade changes the inner body's length; such bodies
  // then go out chunked, as Deno.serve sends them.
  assert.equal(knownLengthSupported, true);
});

Deno.test("httpServeOpts() sends Blob and FormData bodies with their size as Content-Length", async () => {
  const big = "b".repeat(300_000);
  const form = new FormData();
  form.set("field", "value");
  form.set("file", new Blob(["file body"]), "a.txt");
  const formText = await new Response(form).text();
  const cases: [() => Response, string][] = [
    [() => new Response(new Blob(["hello blob"])), "hello blob"],
    [() => new Response(new Blob([big])), big],
    [() => new Response(new Blob([])), ""],
    [
      () =>
        new Response(new Blob(["typed"], { type: "text/csv" }), {
          status: 201,
        }),
      "typed",
    ],
  ];
  for (const [make, body] of cases) {
    const text = await exchange(
      make,
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.match(text, new RegExp(`\r\ncontent-length: ${body.length}\r\n`));
    assert.doesNotMatch(text, /transfer-encoding/i);
    assert.equal(bodyOf(text), body);
  }
  // A multipart body: its boundary differs per Response, its size does not.
  const text = await exchange(
    () => new Response(form),
    `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-type: multipart\/form-data; boundary=/);
  assert.match(text, new RegExp(`\r\ncontent-length: ${formText.length}\r\n`));
  assert.doesNotMatch(text, /transfer-encoding/i);
  assert.equal(bodyOf(text).length, formText.length);
});

Deno.test("httpServeOpts() answers HEAD for a Blob with its size and no body", async () => {
  const text = await exchange(
    () => new Response(new Blob(["x".repeat(100_000)])),
    `HEAD / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  );
  assert.match(text, /\r\ncontent-length: 100000\r\n/);
  assert.equal(bodyOf(text), "");
});

Deno.test("httpServeOpts() keeps an HTTP/1.0 keep-alive connection open after a Blob", async () => {
  // Chunked framing does not exist in HTTP/1.0: without the size, the body
  // would have to end with the connection.
  const server = startTcp(() => new Response(new Blob(["x".repeat(70_000)])));
  try {
    const client = await RawClient.tcp(server);
    const request = `GET / HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\n`;
    await client.send(request);
    const first = await client.readResponse();
    assert.match(first, /\r\nconnection: keep-alive\r\n/);
    assert.match(first, /\r\ncontent-length: 70000\r\n/);
    assert.equal(bodyOf(first).length, 70_000);
    // The same connection answers again.
    await client.send(request);
    assert.equal(bodyOf(await client.readResponse()).length, 70_000);
    client.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("httpServeOpts() lets a handler's own Content-Length frame a Blob, and checks it", async () => {
  const errors: unknown[] = [];
  const size = 200_000;
  const server = startTcp(
    () =>
      // Four parts: the Blob's stream gives them as four chunks.
      new Response(new Blob(Array(4).fill("z".repeat(size / 4))), {
        headers: { "content-length": "300000" },
      }),
    { onError: (error) => void errors.push(error) },
  );
  try {
    const client = await RawClient.tcp(server);
    await client.send(`GET / HTTP/1.1\r\n${H}\r\n`);
    const text = await client.readToEnd();
    client.close();
    // The declared length went out; the short body then ends the connection
    // so the client cannot take it for a whole one.
    assert.ok(text.includes("\r\ncontent-length: 300000\r\n"));
    assert.equal(bodyOf(text).length, size);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /shorter than its content-length 300000/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("httpServeOpts() sends a body that is complete at once with its true length, whatever the handler declared", async () => {
  for (const body of [new Blob(["four"]), "four"]) {
    const text = await exchange(
      () => new Response(body, { headers: { "content-length": "10" } }),
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.match(text, /\r\ncontent-length: 4\r\n/);
    assert.equal(bodyOf(text), "four");
  }
});

Deno.test("httpServeOpts() writes any status and headers with a whole body as the same response streamed", async () => {
  const makers: [string, (stream: boolean) => Response][] = [
    ["201 JSON with headers", (stream) => {
      const body = JSON.stringify({ id: 7, name: "é" });
      return new Response(
        stream ? ReadableStream.from([new TextEncoder().encode(body)]) : body,
        {
          status: 201,
          headers: { "content-type": "application/json", "x-id": "7" },
        },
      );
    }],
    ["404 text with cache-control", (stream) => {
      const body = "Not here\n";
      return new Response(
        stream ? ReadableStream.from([new TextEncoder().encode(body)]) : body,
        {
          status: 404,
          headers: { "cache-control": "no-store", "content-type": "text/x" },
        },
      );
    }],
    ["200 bytes with a custom reason", (stream) => {
      const body = new Uint8Array([1, 2, 3]);
      return new Response(stream ? ReadableStream.from([body]) : body, {
        statusText: "Fine",
        headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]],
      });
    }],
  ];
  for (const [name, make] of makers) {
    await assertSameOnWire(name, () => make(false), () => make(true));
  }
  // No body: 204 and 304 carry no length, an empty 200 carries 0.
  for (const [status, length] of [[204, null], [304, null], [200, "0"]]) {
    const text = await exchange(
      () => new Response(null, { status: status as number }),
      `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    );
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    const declared = /\r\ncontent-length: (\d+)\r\n/.exec(text)?.[1] ?? null;
    assert.equal(declared, length, `status ${status}`);
    assert.equal(bodyOf(text), "");
  }
});

Deno.test("httpServeOpts() counts the status a handler answered at once with headers", async () => {
  const server = startTcp((req) =>
    new URL(req.url).pathname === "/missing"
      ? new Response("no\n", { status: 404, headers: { "x-a": "1" } })
      : new Response("ok", { status: 201, headers: { "x-a": "1" } })
  );
  try {
    const client = await RawClient.tcp(server);
    await client.send(
      `GET /missing HTTP/1.1\r\n${H}\r\nPOST /new HTTP/1.1\r\n${H}` +
        `Content-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    const text = await client.readToEnd();
    client.close();
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(text, /\r\n\r\nno\nHTTP\/1\.1 201 Created\r\n/);
    const { byStatusClass } = server.stats().requests;
    assert.equal(byStatusClass["4xx"], 1);
    assert.equal(byStatusClass["2xx"], 1);
  } finally {
    await server.shutdown();
  }
});

/** The raw bytes a plain-TCP server answers to `request`, up to its close. */
async function rawBytes(
  port: number,
  request: string,
): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) {
      chunks.push(buf.slice(0, n));
    }
    const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) out.set(c, (o += c.length) - c.length);
    return out;
  } finally {
    conn.close();
  }
}

Deno.test("httpServeOpts() sends header values as their bytes (latin1), as Deno.serve does", async () => {
  const value = 'attachment; filename="caf\u00e9.txt"';
  const makers: [string, () => Response][] = [
    ["whole body", () =>
      new Response("x", {
        status: 201,
        statusText: "Cr\u00e9\u00e9",
        headers: { "content-disposition": value },
      })],
    ["streamed body", () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array([120]));
            setTimeout(() => c.close(), 5);
          },
        }),
        {
          status: 201,
          statusText: "Cr\u00e9\u00e9",
          headers: { "content-disposition": value },
        },
      )],
  ];
  const request = `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`;
  // Each code unit one byte: what a client reading obs-text as latin1 sees.
  const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const contains = (hay: Uint8Array, needle: Uint8Array) =>
    hay.some((_, i) => needle.every((b, j) => hay[i + j] === b));
  for (const [name, make] of makers) {
    const ours = startTcp(make);
    const theirs = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      make,
    );
    try {
      for (const port of [ours.addr.port, theirs.addr.port]) {
        const bytes = await rawBytes(port, request);
        assert.ok(
          contains(bytes, latin1(`content-disposition: ${value}\r\n`)),
          `${name}, port ${port}`,
        );
        // Deno.serve sends its own reason phrase; ours keeps the handler's.
        if (port === ours.addr.port) {
          assert.ok(
            contains(bytes, latin1("HTTP/1.1 201 Cr\u00e9\u00e9\r\n")),
            `${name}: status line`,
          );
        }
      }
    } finally {
      await ours.shutdown();
      await theirs.shutdown();
    }
  }
});
