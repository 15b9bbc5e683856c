// A worker module exporting `priority`: /critical is critical, /low is low,
// the rest normal. /block holds its slot until the test posts "release" on
// the BroadcastChannel "quartz-workers-test", after saying which worker
// entered; the other paths answer at once with the worker's name.

const name = (globalThis as unknown as { name: string }).name;

export function priority(req: Request): "critical" | "normal" | "low" {
  const path = new URL(req.url).pathname;
  return path === "/critical" ? "critical" : path === "/low" ? "low" : "normal";
}

export async function handler(req: Request): Promise<Response> {
  if (new URL(req.url).pathname === "/block") {
    const channel = new BroadcastChannel("quartz-workers-test");
    try {
      const released = new Promise<void>((resolve) => {
        channel.onmessage = (event) => {
          if (event.data === "release") resolve();
        };
      });
      channel.postMessage(`entered ${name}`);
      await released;
    } finally {
      channel.close();
    }
  }
  return new Response(name);
}
