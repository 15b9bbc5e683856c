// The worker module of the workers tests: answers with the worker's name, so
// a test sees which worker served it; /slow answers after ?ms.

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/slow") {
      const ms = Number(url.searchParams.get("ms") ?? "100");
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    return new Response((globalThis as unknown as { name: string }).name);
  },
};
