/**
 * The whole product on one machine: the database (embedded PGlite served on 127.0.0.1, or
 * DATABASE_URL), migrations, one trainer worker and the dashboard. Ctrl-C stops the worker first (it
 * checkpoints and releases its run), then the dashboard, then the database.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { defaultDataDir, migrate, probeDatabase, redactUrl, startEmbeddedServer, type EmbeddedServer } from "@lml/db";

const root = join(import.meta.dirname, "..");
const port = Number(process.env.PORT ?? 3000);
const log = (line: string) => process.stderr.write(`lml start: ${line}\n`);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".") || entry.name === "generated") continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard when there is no production build or its sources changed since. */
function ensureWebBuild() {
  const buildId = join(root, "apps/web/.next/BUILD_ID");
  const sources = ["apps/web/src", "packages/api/src", "packages/core/src"].map((d) => join(root, d));
  const stale = !existsSync(buildId) || Math.max(...sources.filter(existsSync).map(newestMtime)) > statSync(buildId).mtimeMs;
  if (!stale) return;
  log("building the dashboard (next build)…");
  const r = spawnSync("npm", ["run", "-s", "-w", "@lml/web", "build"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("the dashboard build failed (see above)");
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the dashboard did not answer on ${url} within ${timeoutMs / 1000}s`);
}

async function main() {
  const children: ChildProcess[] = [];
  let server: EmbeddedServer | undefined;
  let url = process.env.DATABASE_URL?.trim();
  if (url) {
    await probeDatabase(url); // one clear line (URL and reason) when it is unusable
  } else {
    server = await startEmbeddedServer({ dataDir: defaultDataDir() });
    url = server.url;
    log(`embedded database (PGlite, ${server.dataDir}) on ${url}`);
  }
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log("stopping…");
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    }
    await server?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  const result = await migrate(url, { log: (line) => log(line) });
  log(
    `database ${redactUrl(url)}: ${result.applied.length} migration(s) applied${result.appliedNow.length ? ` (${result.appliedNow.length} now)` : ""}`,
  );
  ensureWebBuild();

  const env = { ...process.env, DATABASE_URL: url };
  const web = spawn("npx", ["next", "start", "-H", process.env.HOST ?? "127.0.0.1", "-p", String(port)], {
    cwd: join(root, "apps/web"),
    stdio: ["ignore", "inherit", "inherit"],
    env,
  });
  // The deployable worker app (the same worker loop as `lml work`).
  const worker = spawn(process.execPath, ["--import", "tsx", join(root, "apps/trainer/src/main.ts")], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env,
  });
  // Web first in the list so that stop() (which goes in reverse) ends the worker before it.
  children.push(web, worker);
  for (const child of children) {
    child.on("exit", (code) => {
      if (!stopping) {
        log(`a child process exited (${code}); stopping everything`);
        void stop(code || 1);
      }
    });
  }
  const pageUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${pageUrl}/api/health`, 120_000);
  log(`Landmark Lab is running at ${pageUrl}  (Ctrl-C stops it)`);
}

main().catch((err: unknown) => {
  process.stderr.write(`lml start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
