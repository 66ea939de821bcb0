// Hand-written rule (no maintained plugin checks what a React client component imports): a module
// that Next bundles for the browser — one that starts with "use client", or any module of a client
// folder — may import, for its values, only the browser-safe package entries listed in boundaries.js,
// and no Node built-in. Type-only imports are erased and always allowed.
import { isBuiltin } from "node:module";

const isClientDirective = (statement) => statement.type === "ExpressionStatement" && statement.directive === "use client";

/** @type {import("eslint").Rule.RuleModule} */
export const clientImports = {
  meta: {
    type: "problem",
    docs: { description: "client components import only browser-safe workspace entries and no Node built-in" },
    schema: [
      {
        type: "object",
        properties: { always: { type: "boolean" }, allow: { type: "array", items: { type: "string" } } },
        additionalProperties: false,
      },
    ],
    messages: {
      workspace:
        "'{{source}}' is not a browser-safe entry: a client component may import only {{allowed}} for values " +
        "(or `import type`) — see tooling/eslint/boundaries.js",
      builtin: "'{{source}}' is a Node built-in: a client component runs in the browser",
    },
  },
  create(context) {
    const { always = false, allow = [] } = context.options[0] ?? {};
    let client = always;
    const check = (node, source, typeOnly) => {
      if (!client || typeOnly || typeof source !== "string") return;
      if (source.startsWith("@lml/") && !allow.includes(source)) {
        context.report({ node, messageId: "workspace", data: { source, allowed: allow.join(", ") } });
      } else if (isBuiltin(source)) {
        context.report({ node, messageId: "builtin", data: { source } });
      }
    };
    const allSpecifiersTypeOnly = (node) =>
      node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === "type" || s.exportKind === "type");
    return {
      Program(program) {
        client = always || program.body.some(isClientDirective);
      },
      ImportDeclaration(node) {
        check(node, node.source.value, node.importKind === "type" || allSpecifiersTypeOnly(node));
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === "type" || allSpecifiersTypeOnly(node));
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === "type");
      },
      ImportExpression(node) {
        if (node.source.type === "Literal") check(node, node.source.value, false);
      },
    };
  },
};
