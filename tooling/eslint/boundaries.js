// The "may import" column of docs/ARCHITECTURE.md's table, as data: the one copy the lint rules are built
// from. boundaries.test.ts keeps it equal to the document, so neither drifts.
//
// A term in `mayImport` is a workspace (its folder's last part, e.g. "core") or a third-party library.
// Workspace terms are enforced: a workspace may import its own package and the workspaces it lists, no
// other `@lml/*` package, and nothing may import an app. Third-party terms are informative (the package's
// package.json and the dependency check say what it uses), except tfjs: only a row that names "tfjs"
// may import `@tensorflow/*`, and a row that names "tfjs-core" only `@tensorflow/tfjs-core`.

/** @typedef {{ dir: string, name: string | null, mayImport: string[], note?: string }} Workspace */

/** @type {Workspace[]} */
export const WORKSPACES = [
  { dir: "packages/core", name: "@lml/core", mayImport: ["zod", "sharp", "yaml", "jstat"] },
  { dir: "packages/synth", name: "@lml/synth", mayImport: ["core"] },
  { dir: "packages/db", name: "@lml/db", mayImport: ["core"] },
  { dir: "packages/api", name: "@lml/api", mayImport: ["core", "db"] },
  { dir: "packages/training", name: "@lml/training", mayImport: ["core", "synth", "db", "tfjs-backend-native", "tfjs"] },
  { dir: "packages/tfjs-backend-native", name: "@lml/tfjs-backend-native", mayImport: ["tfjs-core"] },
  { dir: "apps/trainer", name: "@lml/trainer", mayImport: ["training", "core", "db"] },
  { dir: "apps/cli", name: "@lml/cli", mayImport: ["training", "api", "core", "db", "synth"] },
  {
    dir: "apps/web",
    name: "@lml/web",
    mayImport: ["api", "core", "db", "synth"],
    note: "server side, for the dense face templates",
  },
];

/** The package entries a client component ("use client", or a module under apps/web/src/components) may
 * import for their values: they import no Node module and no database. Type-only imports are free. */
export const CLIENT_SAFE_ENTRIES = ["@lml/core/study", "@lml/core/browser", "@lml/api/format", "@lml/api/colour-scale"];

/** The folders whose modules are bundled for the browser even without "use client" (helpers of client components). */
export const CLIENT_FOLDERS = ["apps/web/src/components"];

export const ARCHITECTURE_DOC = "docs/ARCHITECTURE.md";

const short = (dir) => dir.split("/").at(-1);
const byShort = new Map(WORKSPACES.map((w) => [short(w.dir), w]));

/** @param {Workspace} workspace the `@lml/*` packages it may import: its own and those its row lists */
export function allowedWorkspacePackages(workspace) {
  const listed = workspace.mayImport.filter((term) => byShort.has(term)).map((term) => byShort.get(term).name);
  return [workspace.name, ...listed].filter(Boolean);
}

/** @param {Workspace} workspace which `@tensorflow/*` packages it may import: "all", "core" or "none" */
export function allowedTfjs(workspace) {
  if (workspace.mayImport.includes("tfjs")) return "all";
  if (workspace.mayImport.includes("tfjs-core")) return "core";
  return "none";
}

export const workspaceShortName = short;
