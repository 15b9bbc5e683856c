// A strict reader of the Prometheus text format 0.0.4 for the metrics tests.

import assert from "node:assert/strict";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

/** Reads a label set `{a="x",b="y\"z"}`, rejecting anything malformed. */
function parseLabels(s: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  while (s[i] !== "}") {
    const eq = s.indexOf("=", i);
    assert.ok(eq > i, `label without "=": ${s}`);
    const name = s.slice(i, eq);
    assert.match(name, LABEL);
    assert.ok(!(name in labels), `duplicate label ${name}`);
    assert.equal(s[eq + 1], '"', `unquoted label value: ${s}`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const ch = s[j];
      assert.ok(ch !== undefined && ch !== "\n", `unterminated value: ${s}`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = s[++j];
        assert.ok(
          next === "\\" || next === '"' || next === "n",
          `bad escape \\${next}`,
        );
        value += next === "n" ? "\n" : next;
      } else value += ch;
    }
    labels[name] = value;
    i = j + 1;
    if (s[i] === ",") i++;
    else assert.equal(s[i], "}", `expected , or } in ${s}`);
  }
  return [labels, s.slice(i + 1)];
}

/** A strict reader of the Prometheus text format 0.0.4; throws on any bad line. */
export function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "must end with a newline");
  const families = new Map<string, Family>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    assert.notEqual(line, "", "no blank lines expected");
    if (line.startsWith("# HELP ")) {
      const [name, ...help] = line.slice(7).split(" ");
      assert.match(name!, NAME);
      assert.ok(!families.has(name!), `family ${name} declared twice`);
      families.set(name!, {
        type: "untyped",
        help: help.join(" "),
        samples: [],
      });
      current = name;
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, extra] = line.slice(7).split(" ");
      assert.equal(name, current, "TYPE must follow its HELP");
      assert.ok(
        ["counter", "gauge", "histogram", "summary", "untyped"].includes(type!),
      );
      assert.equal(extra, undefined);
      assert.equal(
        families.get(name!)!.samples.length,
        0,
        "TYPE before samples",
      );
      families.get(name!)!.type = type!;
      continue;
    }
    assert.ok(!line.startsWith("#"), `unknown comment: ${line}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const name = m[1]!;
    let rest = m[2]!;
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest);
    assert.ok(rest.startsWith(" "), `missing value: ${line}`);
    const [value, timestamp, extra] = rest.slice(1).split(" ");
    assert.match(value!, FLOAT);
    assert.equal(extra, undefined);
    if (timestamp !== undefined) assert.match(timestamp, /^-?\d+$/);
    const family = families.get(current!)!;
    const base = family.type === "histogram"
      ? name.replace(/_(bucket|sum|count)$/, "")
      : name;
    assert.equal(base, current, `sample ${name} outside its family`);
    family.samples.push({ name, labels, value: Number(value) });
  }
  for (const [name, f] of families) {
    if (f.type === "counter") assert.ok(name.endsWith("_total"), name);
    if (f.type !== "histogram") continue;
    const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
    assert.ok(buckets.length > 0);
    let last = -Infinity;
    let lastCount = 0;
    for (const b of buckets) {
      const le = b.labels.le;
      assert.ok(le !== undefined, "bucket without le");
      const bound = le === "+Inf" ? Infinity : Number(le);
      assert.ok(bound > last, "le strictly increasing");
      assert.ok(b.value >= lastCount, "bucket counts monotone");
      last = bound;
      lastCount = b.value;
    }
    assert.equal(last, Infinity, "+Inf bucket last");
    const count = f.samples.find((s) => s.name === `${name}_count`);
    assert.ok(f.samples.some((s) => s.name === `${name}_sum`));
    assert.equal(count?.value, lastCount, "+Inf bucket equals _count");
  }
  return families;
}

export function value(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, "")) ??
    families.get(name);
  return family?.samples.find((s) =>
    s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )?.value;
}
