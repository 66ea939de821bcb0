// Shared first step of `npm start`, `npm test` and `npm run lml`: install what is missing on a fresh
// clone and generate the Prisma client, so that each of them is one command.
import { existsSync } from "node:fs";
import { execSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function run(cmd) {
  execSync(cmd, { cwd: root, stdio: ["ignore", process.stderr, process.stderr] });
}

export function ensureSetup() {
  if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
    process.stderr.write("lml: installing dependencies (npm install)…\n");
    run("npm install --no-audit --no-fund");
  }
  if (!existsSync(join(root, "packages", "db", "src", "generated", "prisma"))) {
    process.stderr.write("lml: generating the Prisma client…\n");
    run("npm run -s db:generate");
  }
}
