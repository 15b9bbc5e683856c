/**
 * A Deno lint plugin for code that uses `@quartz/std/concurrency`. Its one
 * rule, `quartz/no-bare-go`, reports a call to the detached `go(...)` outside
 * a nursery: such a task outlives the code that started it.
 *
 * Enable it in `deno.json`:
 *
 * ```json
 * { "lint": { "plugins": ["jsr:@quartz/std/lint"] } }
 * ```
 *
 * Silence one line with `// deno-lint-ignore quartz/no-bare-go`.
 *
 * @example Run the plugin on a source text (inside `deno test`)
 * ```ts ignore
 * import plugin from "@quartz/std/lint";
 *
 * const diagnostics = Deno.lint.runPlugin(plugin, "a.ts", "go(() => 1);");
 * console.log(diagnostics[0]?.id); // "quartz/no-bare-go"
 * ```
 *
 * @module
 */
import { noBareGo } from "./no_bare_go.ts";

export { noBareGo };

/**
 * The `quartz` lint plugin: the default export `deno lint` loads.
 *
 * @example Use it from deno.json
 * ```json
 * { "lint": { "plugins": ["jsr:@quartz/std/lint"] } }
 * ```
 */
const plugin: Deno.lint.Plugin = {
  name: "quartz",
  rules: { "no-bare-go": noBareGo },
};

export default plugin;
