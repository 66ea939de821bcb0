// `npm start`: install what is missing, then hand over to the TypeScript stack runner.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ensureSetup, root } from "./ensure-setup.mjs";

ensureSetup();
const child = spawn(process.execPath, ["--import", "tsx", join(root, "scripts", "start-stack.ts")], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
});
// Ctrl-C reaches the whole process group; the stack runner does the orderly shutdown.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
