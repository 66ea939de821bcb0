// The repository's lint: ESLint's and typescript-eslint's recommended rules (syntax-only, no type
// information, so one run over the whole repository stays fast), React's hook rules for the dashboard,
// and the architecture: the import boundaries of docs/ARCHITECTURE.md (built from boundaries.js), no
// relative import into another workspace, client components import only browser-safe entries, and
// every imported package is declared in the importing workspace's package.json.
import { includeIgnoreFile } from "@eslint/compat";
import js from "@eslint/js";
import nextPlugin from "@next/eslint-plugin-next";
import { defineConfig } from "eslint/config";
import importX from "eslint-plugin-import-x";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { allowedTfjs, allowedWorkspacePackages, ARCHITECTURE_DOC, CLIENT_FOLDERS, CLIENT_SAFE_ENTRIES, WORKSPACES } from "./boundaries.js";
import { clientImports } from "./client-imports.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const SOURCES = "**/*.{js,mjs,cjs,ts,mts,cts,tsx}";
const APP_PACKAGES = WORKSPACES.filter((w) => w.dir.startsWith("apps/")).map((w) => w.name);

/** Files where a workspace's devDependencies may be imported: tests, benches, browser tests, configs, scripts. */
const DEV_FILES = [
  "**/test/**",
  "**/*.test.{ts,tsx,mts}",
  "**/*.spec.{ts,tsx,mts}",
  "**/*.fixture.ts",
  "**/bench/**",
  "**/e2e/**",
  "**/scripts/**",
  "**/src/testing.ts",
  "**/vitest.config.*",
  "**/playwright.config.*",
  "**/next.config.*",
  "**/eslint.config.*",
  "tooling/**",
];

const subpaths = (name) => [name, `${name}/**`];

/** `no-restricted-imports` for one workspace: the `@lml/*` packages and tfjs its row does not list. */
function boundaryRule(workspace) {
  const allowed = allowedWorkspacePackages(workspace);
  const listed = workspace.mayImport.join(", ") || "nothing";
  const patterns = [
    {
      group: ["@lml/*", ...allowed.flatMap((name) => subpaths(name).map((p) => `!${p}`))],
      message: `${workspace.dir} may import ${listed} (${ARCHITECTURE_DOC}, "may import"; tooling/eslint/boundaries.js).`,
    },
  ];
  const tfjs = allowedTfjs(workspace);
  if (tfjs !== "all") {
    patterns.push({
      group: ["@tensorflow/*", ...(tfjs === "core" ? subpaths("@tensorflow/tfjs-core").map((p) => `!${p}`) : [])],
      message: `${workspace.dir} may import ${listed}: tfjs belongs to ${WORKSPACES.filter((w) => allowedTfjs(w) !== "none")
        .map((w) => w.dir)
        .join(" and ")} (${ARCHITECTURE_DOC}).`,
    });
  }
  return {
    files: [`${workspace.dir}/${SOURCES}`],
    rules: {
      "no-restricted-imports": ["error", { patterns }],
      // The workspace's own package.json, and the root's devDependencies: the shared test and build
      // toolchain (vitest, tsx, typescript), which dev files may use without restating it.
      "import-x/no-extraneous-dependencies": [
        "error",
        { devDependencies: DEV_FILES, includeTypes: true, packageDir: [join(ROOT, workspace.dir), ROOT] },
      ],
    },
  };
}

export default defineConfig(
  // What git ignores, and what prettier ignores (its temporary section, files their owners are editing,
  // holds for lint too: one list to remove when they land).
  includeIgnoreFile(join(ROOT, ".gitignore"), "the .gitignore"),
  includeIgnoreFile(join(ROOT, ".prettierignore"), "the .prettierignore"),
  { ignores: ["**/build/", "**/next-env.d.ts"] },
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: [SOURCES],
    languageOptions: { ecmaVersion: "latest", sourceType: "module", globals: { ...globals.node } },
    plugins: { "import-x": importX, lml: { rules: { "client-imports": clientImports } } },
    settings: {
      "import-x/resolver-next": [
        importX.createNodeResolver({
          extensions: [".ts", ".tsx", ".mts", ".js", ".mjs", ".json", ".node"],
          conditionNames: ["import", "types", "require", "default"],
        }),
      ],
    },
    rules: {
      // `_name` marks a parameter or binding kept for its position.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      // `catch {}` says "best effort" clearly enough.
      "no-empty": ["error", { allowEmptyCatch: true }],
      // A `/// <reference path>` to a local ambient declaration (core's jstat types) is the way to include it.
      "@typescript-eslint/triple-slash-reference": ["error", { path: "always", types: "prefer-import", lib: "always" }],
      // A workspace reaches another only through its package name, so the boundaries below see it.
      "import-x/no-relative-packages": "error",
      // Every imported package is declared by the workspace that imports it (its nearest package.json);
      // devDependencies only in tests, benches, browser tests, scripts and configs.
      "import-x/no-extraneous-dependencies": ["error", { devDependencies: DEV_FILES, includeTypes: true }],
      // Nothing imports an app (the root's scripts and the tooling included); each workspace's own block replaces this.
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: APP_PACKAGES.flatMap(subpaths), message: `Nothing imports an app (${ARCHITECTURE_DOC}).` }] },
      ],
    },
  },
  ...WORKSPACES.map(boundaryRule),
  {
    files: ["apps/web/src/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks, "@next/next": nextPlugin },
    settings: { next: { rootDir: "apps/web" } },
    rules: {
      ...nextPlugin.configs["core-web-vitals"].rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      "lml/client-imports": ["error", { allow: CLIENT_SAFE_ENTRIES }],
    },
  },
  {
    files: CLIENT_FOLDERS.map((dir) => `${dir}/**/*.{ts,tsx}`),
    ignores: ["**/*.test.{ts,tsx}"],
    rules: { "lml/client-imports": ["error", { always: true, allow: CLIENT_SAFE_ENTRIES }] },
  },
);
