/** The functions whose body (any function argument) may call `go`. */
const SCOPES = new Set(["goScope", "goSupervisor", "goScopeTimeout"]);

/** The functions whose value, held by `await using`, opens a nursery block. */
const NURSERY_OPENERS = new Set(["openNursery"]);

/** The name a callee is called by: `goScope` and `conc.goScope` alike. */
function calleeName(node: Deno.lint.Node): string | undefined {
  if (node.type === "Identifier") return node.name;
  if (node.type === "MemberExpression" && node.property.type === "Identifier") {
    return node.property.name;
  }
  return undefined;
}

function isFunction(node: Deno.lint.Node): boolean {
  return node.type === "ArrowFunctionExpression" ||
    node.type === "FunctionExpression";
}

/** Whether `node` is an `await using x = openNursery(...)` declaration. */
function opensNursery(node: Deno.lint.Node): boolean {
  if (node.type !== "VariableDeclaration" || node.kind !== "await using") {
    return false;
  }
  return node.declarations.some((declarator) => {
    let init = declarator.init;
    if (init?.type === "AwaitExpression") init = init.argument;
    if (init?.type !== "CallExpression") return false;
    const name = calleeName(init.callee);
    return name !== undefined && NURSERY_OPENERS.has(name);
  });
}

/** The statements of a block-like node, or undefined. */
function statementsOf(node: Deno.lint.Node): Deno.lint.Node[] | undefined {
  switch (node.type) {
    case "BlockStatement":
    case "Program":
    case "StaticBlock":
      return node.body;
    case "SwitchCase":
      return node.consequent;
    default:
      return undefined;
  }
}

/**
 * Whether `call` sits lexically inside a scope body or after an
 * `await using` nursery declaration in an enclosing block.
 */
function isInsideNursery(
  call: Deno.lint.Node,
  ancestors: Deno.lint.Node[],
): boolean {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const node = ancestors[i]!;
    const child = ancestors[i + 1] ?? call;
    if (node.type === "CallExpression" && isFunction(child)) {
      const name = calleeName(node.callee);
      if (
        name !== undefined && SCOPES.has(name) &&
        (node.arguments as Deno.lint.Node[]).includes(child)
      ) {
        return true;
      }
    }
    const statements = statementsOf(node);
    if (statements !== undefined) {
      for (const statement of statements) {
        if (statement === child) break;
        if (opensNursery(statement)) return true;
      }
    }
  }
  return false;
}

/**
 * The `no-bare-go` rule: reports a call to `go(...)` that is not lexically
 * inside the body of `goScope`, `goSupervisor` or `goScopeTimeout`, or after
 * an `await using` nursery from `openNursery()` in an enclosing block. A
 * bare `go` starts a task no scope waits for; `nursery.go(...)` is never
 * reported.
 *
 * @example Put the rule in a plugin of your own
 * ```ts
 * import { noBareGo } from "@quartz/std/lint";
 *
 * const myPlugin: Deno.lint.Plugin = {
 *   name: "my-rules",
 *   rules: { "no-bare-go": noBareGo },
 * };
 * console.log(Object.keys(myPlugin.rules)); // ["no-bare-go"]
 * ```
 */
export const noBareGo: Deno.lint.Rule = {
  create(context: Deno.lint.RuleContext): Deno.lint.LintVisitor {
    return {
      CallExpression(node: Deno.lint.CallExpression): void {
        if (node.callee.type !== "Identifier" || node.callee.name !== "go") {
          return;
        }
        const ancestors = context.sourceCode.getAncestors(node);
        if (isInsideNursery(node, ancestors)) return;
        context.report({
          node,
          message:
            "`go(...)` starts a task that no scope waits for: its failure escapes the structure",
          hint:
            "Start it with `nursery.go(...)` inside `goScope`, `goSupervisor`, `goScopeTimeout` or an `await using` nursery, or add `// deno-lint-ignore quartz/no-bare-go` if the detached task is intended",
        });
      },
    };
  },
};
