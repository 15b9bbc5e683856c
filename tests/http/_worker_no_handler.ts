// A worker module without a handler: httpServeTlsWorkers() must refuse it.

export const notAHandler = 42;
