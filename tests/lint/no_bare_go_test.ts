import assert from "node:assert/strict";
import plugin, { noBareGo } from "../../lint/mod.ts";

function lint(source: string): Deno.lint.Diagnostic[] {
  return Deno.lint.runPlugin(plugin, "example.ts", source);
}

Deno.test("quartz lint plugin exports the no-bare-go rule by name and in the plugin", () => {
  assert.equal(plugin.name, "quartz");
  assert.equal(plugin.rules["no-bare-go"], noBareGo);
});

Deno.test("no-bare-go reports a bare go() at the top level and in a plain function", () => {
  const source = [
    'import { go } from "@quartz/std/concurrency";',
    "go(async () => 1);",
    "function later() {",
    "  go(() => 2);",
    "}",
  ].join("\n");
  const diagnostics = lint(source);
  assert.equal(diagnostics.length, 2);
  for (const diagnostic of diagnostics) {
    assert.equal(diagnostic.id, "quartz/no-bare-go");
    assert.match(diagnostic.message, /no scope waits for/);
  }
  const [first] = diagnostics;
  assert.equal(source.slice(...first!.range), "go(async () => 1)");
});

Deno.test("no-bare-go accepts go() inside goScope, goSupervisor and goScopeTimeout bodies", () => {
  const source = [
    "await goScope(async (nursery) => { go(() => 1); });",
    "await goSupervisor(function (nursery) { go(() => 1); });",
    "await goScopeTimeout(100, (nursery) => {",
    "  setTimeout(() => go(() => 1), 0);",
    "});",
    "await conc.goScope(() => go(() => 1));",
  ].join("\n");
  assert.deepEqual(lint(source), []);
});

Deno.test("no-bare-go accepts go() after an await using nursery in the same or an enclosing block", () => {
  const source = [
    "async function handle() {",
    "  await using nursery = openNursery();",
    "  go(() => 1);",
    "  if (true) { go(() => 2); }",
    "}",
  ].join("\n");
  assert.deepEqual(lint(source), []);
});

Deno.test("no-bare-go reports go() before the await using nursery and after the block ends", () => {
  const source = [
    "async function handle() {",
    "  go(() => 1);",
    "  {",
    "    await using nursery = openNursery();",
    "  }",
    "  go(() => 2);",
    "}",
    "async function other() {",
    "  await using file = openFile();",
    "  go(() => 3);",
    "}",
  ].join("\n");
  assert.equal(lint(source).length, 3);
});

Deno.test("no-bare-go ignores nursery.go() and functions that only take the scope's name", () => {
  const source = [
    "nursery.go(() => 1);",
    "other(goScope, () => go(() => 1));",
  ].join("\n");
  const diagnostics = lint(source);
  // `nursery.go` is never reported; the go() in a callback that is not a
  // scope body is.
  assert.equal(diagnostics.length, 1);
  assert.equal(
    source.slice(...diagnostics[0]!.range),
    "go(() => 1)",
  );
});
