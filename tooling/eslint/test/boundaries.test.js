// The import-boundary table has two copies a reader sees — docs/ARCHITECTURE.md's "may import" column
// and tooling/eslint/boundaries.js, which the lint rules are built from — and these tests keep them equal,
// keep every workspace on disk in the table, and check that the rules built from it really fire.
// Run with `node --test tooling/eslint/test/` (npm test does, in its lint step).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { allowedWorkspacePackages, ARCHITECTURE_DOC, WORKSPACES } from "../boundaries.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(join(ROOT, path), "utf8"));

/** The rows of the document's table whose folder is a workspace, as boundaries.js spells them. */
function documentedWorkspaces() {
  const rows = readFileSync(join(ROOT, ARCHITECTURE_DOC), "utf8")
    .split("\n")
    .filter((line) => /^\| `(packages|apps)\/[^`]+` \|/.test(line));
  return rows.map((line) => {
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    assert.equal(cells.length, 4, `${ARCHITECTURE_DOC}: a table row has 4 cells: ${line.slice(0, 80)}…`);
    const [folder, pkg, , mayImport] = cells;
    const note = mayImport.match(/\(([^)]*)\)/)?.[1];
    const terms = mayImport
      .replace(/\([^)]*\)/, "")
      .split(",")
      .map((term) => term.trim())
      .filter(Boolean);
    return { dir: folder.replaceAll("`", ""), name: pkg.replaceAll("`", "") || null, mayImport: terms, ...(note ? { note } : {}) };
  });
}

const normalise = (w) => ({ ...w, mayImport: [...w.mayImport].sort() });

test(`${ARCHITECTURE_DOC}'s "may import" table and tooling/eslint/boundaries.js agree`, () => {
  const documented = documentedWorkspaces().map(normalise);
  const linted = WORKSPACES.map((w) =>
    normalise({ dir: w.dir, name: w.name, mayImport: w.mayImport, ...(w.note ? { note: w.note } : {}) }),
  );
  assert.deepEqual(linted, documented);
});

test("every workspace on disk is in the table, under its package.json name", () => {
  const onDisk = ["packages", "apps"].flatMap((parent) =>
    readdirSync(join(ROOT, parent))
      .filter((dir) => existsSync(join(ROOT, parent, dir, "package.json")))
      .map((dir) => `${parent}/${dir}`),
  );
  assert.deepEqual(WORKSPACES.map((w) => w.dir).sort(), onDisk.sort());
  for (const w of WORKSPACES) assert.equal(readJson(`${w.dir}/package.json`).name, w.name, `${w.dir}/package.json name`);
});

test("no workspace declares a dependency on a workspace its row does not list", () => {
  for (const w of WORKSPACES) {
    const pkg = readJson(`${w.dir}/package.json`);
    const declared = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }).filter((n) =>
      n.startsWith("@lml/"),
    );
    const allowed = allowedWorkspacePackages(w);
    assert.deepEqual(
      declared.filter((n) => !allowed.includes(n)),
      [],
      `${w.dir}/package.json declares what ${ARCHITECTURE_DOC} does not allow`,
    );
  }
});

// The rules built from the table fire on code that breaks it (virtual files: nothing is written).
const eslint = new ESLint({ cwd: ROOT });
/** The messages of one rule (or every rule) on `code` linted as if it were `filePath`. */
async function lint(filePath, code, ruleId) {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return result.messages.filter((m) => !ruleId || m.ruleId === ruleId).map((m) => `${m.ruleId}: ${m.message}`);
}
const BOUNDARY = "no-restricted-imports";

test("the boundary rule rejects an import the table does not allow, naming the rule's source", async () => {
  const messages = await lint(
    "packages/core/src/boundary-probe.ts",
    'import { prisma } from "@lml/db";\nexport const p = prisma;\n',
    BOUNDARY,
  );
  assert.equal(messages.length, 1, messages.join("\n"));
  assert.match(
    messages[0],
    /^no-restricted-imports: .*'@lml\/db'.*packages\/core may import zod, sharp, yaml, jstat \(docs\/ARCHITECTURE\.md/,
  );
  assert.deepEqual(await lint("packages/api/src/boundary-probe.ts", 'export { prisma } from "@lml/db";\n', BOUNDARY), []);
});

test("nothing imports an app, and tfjs stays in the training engine", async () => {
  const [app] = await lint("apps/cli/src/boundary-probe.ts", 'export * from "@lml/web";\n', BOUNDARY);
  assert.match(app, /^no-restricted-imports: .*'@lml\/web'.*apps\/cli may import/);
  const [tfjs] = await lint("packages/db/src/boundary-probe.ts", 'export * from "@tensorflow/tfjs-core";\n', BOUNDARY);
  assert.match(tfjs, /^no-restricted-imports: .*tfjs belongs to packages\/training/);
});

test("a client component imports only browser-safe entries for values", async () => {
  const client = [
    '"use client";',
    'import { REGIMES } from "@lml/core";',
    'import type { RunConfig } from "@lml/core";',
    "export const r: RunConfig | typeof REGIMES = REGIMES;",
    "",
  ].join("\n");
  const messages = await lint("apps/web/src/app/probe/page.tsx", client);
  assert.equal(messages.length, 1, messages.join("\n"));
  assert.match(messages[0], /^lml\/client-imports: '@lml\/core' is not a browser-safe entry/);
  assert.deepEqual(await lint("apps/web/src/app/probe/page.tsx", client.replace('"use client";\n', "")), []);
});

test("an import of an undeclared package fails the dependency check", async () => {
  const [missing] = await lint("packages/core/src/deps-probe.ts", 'import { Command } from "commander";\nexport const c = Command;\n');
  assert.match(missing, /^import-x\/no-extraneous-dependencies: 'commander' should be listed in the project's dependencies/);
  const [dev] = await lint("packages/core/src/deps-probe.ts", 'import { test } from "vitest";\nexport const t = test;\n');
  assert.match(dev, /^import-x\/no-extraneous-dependencies: 'vitest' should be listed in the project's dependencies/);
  assert.deepEqual(await lint("packages/core/test/deps-probe.test.ts", 'import { test } from "vitest";\nexport const t = test;\n'), []);
});
