// `node scripts/peers/run.mjs [--peer dlib|face-api|all] [--dir <300w128>] [--out <file>] [--keep <dir>] [--check]`:
// runs run.ts through the repository's tsx (as scripts/lml.mjs runs the command line). See README.md.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
let tsx;
try {
  tsx = createRequire(join(here, "..", "..", "package.json")).resolve("tsx");
} catch {
  process.stderr.write("peers: the repository's dependencies are not installed; run `npm install` at the repository root first\n");
  process.exit(2);
}
const result = spawnSync(process.execPath, ["--import", tsx, join(here, "run.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? (result.signal ? 1 : 0));
