// Pieces of the Prometheus text exposition format (version 0.0.4): label
// sets, sample values, and metric families with their HELP and TYPE lines.

import type { LatencyHistogramSnapshot } from "./metrics_snapshot.ts";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Constant labels as `name="value",...`, values escaped.
 *
 * @throws {RangeError} If a label name is invalid.
 */
export function labelSet(labels: Readonly<Record<string, string>>): string {
  let base = "";
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new RangeError(`Invalid Prometheus label name: "${name}"`);
    }
    base += `${base ? "," : ""}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return base;
}

function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (ch) => ch === "\n" ? "\\n" : "\\" + ch);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** One sample per field of `counts`, labelled `label="field"`. */
export function pairs(label: string, counts: object): [string, number][] {
  return Object.entries(counts).map(([k, v]) => [`${label}="${k}"`, v]);
}

/** Appends a counter or gauge family: HELP, TYPE and its samples. */
export function family(
  out: string[],
  name: string,
  type: "counter" | "gauge",
  help: string,
  base: string,
  samples: [string, number][],
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) {
    const all = base && labels ? `${base},${labels}` : base || labels;
    out.push(`${name}${all ? `{${all}}` : ""} ${formatValue(value)}`);
  }
}

/**
 * Appends a histogram family: latency in milliseconds is exported in seconds,
 * as Prometheus base units ask.
 */
export function histogramFamily(
  out: string[],
  name: string,
  help: string,
  base: string,
  h: LatencyHistogramSnapshot,
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (let i = 0; i < h.counts.length; i++) {
    const bound = h.boundsMs[i];
    const le = bound === undefined ? "+Inf" : formatValue(bound / 1000);
    out.push(
      `${name}_bucket{${base ? base + "," : ""}le="${le}"} ${
        formatValue(h.counts[i]!)
      }`,
    );
  }
  const braces = base ? `{${base}}` : "";
  out.push(`${name}_sum${braces} ${formatValue(h.sumMs / 1000)}`);
  out.push(`${name}_count${braces} ${formatValue(h.count)}`);
}
