// LoadShedderOptions checked and defaulted, once, in the constructor.

import type { LoadShedderOptions } from "./load_shed_types.ts";

/** The limits and classes of a load shedder, checked and defaulted. */
export interface ShedConfig {
  maxConnections: number;
  shedBeforeHandshake: boolean;
  /** The fixed limit, or the initial one of an adaptive limit. */
  maxInFlight: number;
  /** `maxInFlight` plus the slots only the critical class may use. */
  criticalLimit: number;
  /**
   * The critical reserve the user set, or NaN for the default (a tenth of
   * the limit, at least 1, recomputed as an adaptive limit moves).
   */
  criticalReserve: number;
  maxQueueMs: number;
  maxQueueLength: number;
  /** A copy of `priorities`. */
  classes: readonly string[];
  retryAfterSeconds: number;
  /** The adaptive mode's bounds, or `undefined` when it is off. */
  adaptive: { targetMs: number; intervalMs: number } | undefined;
  /**
   * The bounds of the adaptive concurrency limit, or `undefined` when the
   * limit is fixed (adaptive mode off, or `maxInFlight` set).
   */
  adaptiveLimit:
    | { initialLimit: number; minLimit: number; maxLimit: number }
    | undefined;
}

const RFC_CLASS = /^[\x21-\x7e]+$/;

/**
 * Checks `options` and applies the defaults.
 *
 * @throws {RangeError} If a limit is negative or NaN, a bound of the
 *   adaptive limit is not an integer of at least 1 (or `maxLimit` is below
 *   `minLimit`), or `priorities` is empty, has duplicates or names that are
 *   not visible ASCII.
 */
export function resolveShedOptions(options: LoadShedderOptions): ShedConfig {
  const maxConnections = limit("maxConnections", options.maxConnections);
  const adaptiveLimit = adaptiveLimitOf(options);
  const maxInFlight = adaptiveLimit?.initialLimit ??
    limit("maxInFlight", options.maxInFlight);
  const maxQueueMs = limit("maxQueueMs", options.maxQueueMs ?? 1000);
  const maxQueueLength = limit(
    "maxQueueLength",
    options.maxQueueLength ?? 1024,
  );
  const reserve = options.criticalReserve ??
    (Number.isFinite(maxInFlight)
      ? Math.max(1, Math.ceil(maxInFlight / 10))
      : 0);
  const criticalLimit = maxInFlight + limit("criticalReserve", reserve);
  const criticalReserve = options.criticalReserve ?? NaN;
  const retryAfterSeconds = limit(
    "retryAfterSeconds",
    options.retryAfterSeconds ?? 1,
  );
  const classes = options.priorities ?? ["critical", "normal", "low"];
  if (classes.length === 0) {
    throw new RangeError("Priorities must name at least one class: []");
  }
  for (const [i, c] of classes.entries()) {
    if (!RFC_CLASS.test(c) || classes.indexOf(c) !== i) {
      throw new RangeError(`Invalid or duplicate priority class: "${c}"`);
    }
  }
  let adaptive: ShedConfig["adaptive"];
  const mode = options.adaptive ?? false;
  if (mode !== false) {
    const a = mode === true ? {} : mode;
    adaptive = {
      targetMs: limit("adaptive.targetMs", a.targetMs ?? 5),
      intervalMs: limit("adaptive.intervalMs", a.intervalMs ?? 100),
    };
  }
  return {
    maxConnections,
    shedBeforeHandshake: options.shedBeforeHandshake ?? true,
    maxInFlight,
    criticalLimit,
    criticalReserve,
    maxQueueMs,
    maxQueueLength,
    classes: [...classes],
    retryAfterSeconds,
    adaptive,
    adaptiveLimit,
  };
}

/** The adaptive limit's bounds when adaptive mode is on without maxInFlight. */
function adaptiveLimitOf(
  options: LoadShedderOptions,
): ShedConfig["adaptiveLimit"] {
  const mode = options.adaptive ?? false;
  if (mode === false || options.maxInFlight !== undefined) return undefined;
  const a = mode === true ? {} : mode;
  const minLimit = atLeastOne("adaptive.minLimit", a.minLimit ?? 2);
  const maxLimit = atLeastOne("adaptive.maxLimit", a.maxLimit ?? 1024);
  if (maxLimit < minLimit) {
    throw new RangeError(
      `Option adaptive.maxLimit must be at least minLimit ${minLimit}: ${maxLimit}`,
    );
  }
  const initial = atLeastOne("adaptive.initialLimit", a.initialLimit ?? 20);
  return {
    initialLimit: Math.min(maxLimit, Math.max(minLimit, initial)),
    minLimit,
    maxLimit,
  };
}

/** A finite integer limit of at least 1. */
function atLeastOne(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(
      `Option ${name} must be an integer of at least 1: ${value}`,
    );
  }
  return value;
}

/** A non-negative limit; `undefined` means no limit. */
function limit(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Option ${name} must be a non-negative number: ${value}`,
    );
  }
  return value;
}
