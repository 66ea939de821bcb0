// `npm test`: install what is missing; lint (code rules, the import boundaries of docs/ARCHITECTURE.md
// and the declared-dependency check, one ESLint pass), check formatting and that the boundary table and
// the document agree; type-check every workspace, run every workspace's vitest tests
// (the DB tests on PGlite, and on PostgreSQL when TEST_DATABASE_URL is set or one answers on
// 127.0.0.1:5432), then the dashboard's browser test against a production build. Arguments are passed
// to vitest and run only vitest (e.g. `npm test -- packages/core`).
import { spawnSync } from "node:child_process";
import { ensureSetup, root } from "./ensure-setup.mjs";

ensureSetup();
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: "1",
  TURBO_TELEMETRY_DISABLED: "1",
  DO_NOT_TRACK: "1",
};
function step(label, cmd, args) {
  process.stderr.write(`\n== ${label}: ${cmd} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env });
  return r.status ?? 1;
}
const failures = [];
const full = process.argv.length <= 2;
// The fast checks first: a broken one fails the run, but the suites still run, so one run says everything.
if (full && step("lint", "npm", ["run", "-s", "lint"]) !== 0) failures.push("lint");
if (full && step("format check", "npm", ["run", "-s", "format:check"]) !== 0) failures.push("format");
if (full && step("import-boundary table", "node", ["--test", "tooling/eslint/test/"]) !== 0) failures.push("boundaries");
// Every workspace's types (Next's build checks only the web app's).
if (full && step("type check", "npx", ["turbo", "run", "typecheck", "--output-logs=errors-only"]) !== 0) failures.push("typecheck");
if (step("unit and integration tests", "npx", ["vitest", "run", ...process.argv.slice(2)]) !== 0) failures.push("vitest");
if (full && step("browser test", "npm", ["run", "-s", "-w", "@lml/web", "e2e"]) !== 0) failures.push("e2e");
if (failures.length) {
  process.stderr.write(`\nnpm test: failed: ${failures.join(", ")}\n`);
  process.exit(1);
}
process.stderr.write("\nnpm test: all suites passed\n");
