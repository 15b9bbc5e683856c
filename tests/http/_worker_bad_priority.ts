// A worker module whose `priority` export is not a function:
// httpServeTlsWorkers() must refuse it.

export const priority = 42;

export const handler = (): Response => new Response("unreachable");
