// `npm start`: install what is missing, then run the stack runner (start-stack.ts) in THIS process, so
// that the pid npm starts (package.json `exec`s it) is the one that receives SIGTERM/SIGINT and stops
// everything it started (issue 16.7). Flags: `npm start -- --insecure | --no-build` (see start-stack.ts).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureSetup, root } from "./ensure-setup.mjs";

ensureSetup();
Object.assign(process.env, { NEXT_TELEMETRY_DISABLED: "1", TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" });
// What `node --import tsx` would do, done here so that no second node process is needed (imported only
// now: on a fresh clone ensureSetup has just installed tsx).
(await import("tsx/esm/api")).register();
(await import("tsx/cjs/api")).register();
await import(pathToFileURL(join(root, "scripts", "start-stack.ts")).href);
