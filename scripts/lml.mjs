// `npm run -s lml -- …`: the command line (apps/cli), run from TypeScript source in THIS process, so
// that the pid npm starts (package.json `exec`s it) is the one that receives SIGTERM/SIGINT — `lml
// work` then gives its run back and exits, with nothing left behind (issue 16.7).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureSetup, root } from "./ensure-setup.mjs";

ensureSetup();
// What `node --import tsx` would do, done here so that no second node process is needed (imported only
// now: on a fresh clone ensureSetup has just installed tsx).
(await import("tsx/esm/api")).register();
(await import("tsx/cjs/api")).register();
await import(pathToFileURL(join(root, "apps", "cli", "src", "cli.ts")).href);
