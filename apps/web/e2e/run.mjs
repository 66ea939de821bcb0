// `npm run -w @lml/web e2e`: self-contained browser test. Starts a fresh migrated database (in-memory
// PGlite served on a free port, or E2E_DATABASE_URL), builds the app when the build is missing or older
// than the sources, starts `next start` on a free port against that database, runs Playwright, and stops
// everything. The database helpers are TypeScript, so the work happens in run-harness.ts under tsx.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const r = spawnSync(process.execPath, ["--import", "tsx", join(here, "harness.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: join(here, ".."),
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
});
process.exit(r.status ?? 1);
