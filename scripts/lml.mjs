// `npm run -s lml -- …`: the command line (apps/cli), run from TypeScript source through tsx.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ensureSetup, root } from "./ensure-setup.mjs";

ensureSetup();
const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "apps", "cli", "src", "cli.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: process.cwd(),
  env: process.env,
});
process.exit(result.status ?? (result.signal ? 1 : 0));
