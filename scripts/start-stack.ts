/**
 * The whole product on one machine: the database (embedded PGlite served on 127.0.0.1, or
 * DATABASE_URL), migrations, one trainer worker and the dashboard. `npm start` runs this module in its
 * own process (scripts/start.mjs, `exec`'d by npm), so SIGTERM or SIGINT to the pid `npm start` gave
 * reaches it: the worker stops first (it checkpoints and releases its run), then the dashboard, then
 * the database; every child is started directly (node, never through npx or a shell, which would not
 * pass the signal on), so none is left behind.
 *
 *   npm start [-- --insecure] [-- --no-build]
 *
 * `HOST` beyond loopback needs `LML_TOKEN` (see @lml/api's exposure.ts); `--insecure` starts it open
 * anyway, with a warning. `--no-build` serves the existing dashboard build even when its sources are newer.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkDashboardExposure } from "@lml/api";
import { defaultDataDir, migrate, probeDatabase, redactUrl, startEmbeddedServer, type EmbeddedServer } from "@lml/db";

const root = join(import.meta.dirname, "..");
const web = join(root, "apps/web");
const log = (line: string) => process.stderr.write(`lml start: ${line}\n`);
// Next's own command line, run with this node: `npx next` would put npm and a shell in between.
const nextBin = createRequire(join(web, "package.json")).resolve("next/dist/bin/next");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".") || entry.name === "generated") continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether the dashboard needs `next build`: no production build, or its sources changed since. */
function webBuildStale(): boolean {
  const buildId = join(web, ".next/BUILD_ID");
  const sources = ["apps/web/src", "packages/api/src", "packages/core/src"].map((d) => join(root, d));
  return !existsSync(buildId) || Math.max(...sources.filter(existsSync).map(newestMtime)) > statSync(buildId).mtimeMs;
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

/** The processes this stack started, and its one way of stopping them all. */
class Stack {
  private readonly children: ChildProcess[] = [];
  server: EmbeddedServer | undefined;
  stopping = false;

  /** Starts `args` with this node; a child that exits unexpectedly stops everything. */
  start(args: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "inherit", "inherit"], env });
    this.children.push(child);
    return child;
  }

  watch(child: ChildProcess, what: string): void {
    child.on("exit", (code, signal) => {
      if (this.stopping) return;
      log(`${what} exited (${signal ?? code}); stopping everything`);
      void this.stop(code || 1);
    });
  }

  /** The newest child first (the worker before the dashboard), then the database; then exits. */
  async stop(code: number): Promise<never> {
    if (!this.stopping) {
      this.stopping = true;
      log("stopping…");
      for (const child of [...this.children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await this.server?.close();
      process.exit(code);
    }
    return new Promise<never>(() => {});
  }
}

async function main(stack: Stack): Promise<void> {
  const { values: flags } = parseArgs({ options: { insecure: { type: "boolean" }, "no-build": { type: "boolean" } }, strict: true });
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST?.trim() || "127.0.0.1";
  // Before anything starts: an open dashboard on the network is refused, or announced.
  for (const warning of checkDashboardExposure({ host, port, token: process.env.LML_TOKEN, insecure: flags.insecure }))
    log(`\n\n  ${warning}\n`);

  let url = process.env.DATABASE_URL?.trim();
  if (url) {
    await probeDatabase(url); // one clear line (URL and reason) when it is unusable
  } else {
    stack.server = await startEmbeddedServer({ dataDir: defaultDataDir() });
    url = stack.server.url;
    log(`embedded database (PGlite, ${stack.server.dataDir}) on ${url}`);
  }
  process.on("SIGINT", () => void stack.stop(0));
  process.on("SIGTERM", () => void stack.stop(0));

  const result = await migrate(url, { log: (line) => log(line) });
  log(
    `database ${redactUrl(url)}: ${result.applied.length} migration(s) applied${result.appliedNow.length ? ` (${result.appliedNow.length} now)` : ""}`,
  );
  if (webBuildStale()) {
    if (flags["no-build"]) log("the dashboard's sources are newer than its build; serving the build anyway (--no-build)");
    else {
      log("building the dashboard (next build)…");
      const build = stack.start([nextBin, "build"], web, process.env);
      const code = await new Promise<number | null>((r) => build.once("exit", r));
      if (stack.stopping) return;
      if (code !== 0) throw new Error("the dashboard build failed (see above)");
    }
  }

  const env = { ...process.env, DATABASE_URL: url };
  stack.watch(stack.start([nextBin, "start", "-H", host, "-p", String(port)], web, env), "the dashboard");
  // The deployable worker app (the same worker loop as `lml work`), started after the dashboard so
  // that stop() ends it first.
  stack.watch(stack.start(["--import", "tsx", join(root, "apps/trainer/src/main.ts")], root, env), "the worker");
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host; // "every interface" includes loopback
  const pageUrl = `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
  await waitForHttp(`${pageUrl}/api/health`, 180_000);
  log(`Landmark Lab is running at ${pageUrl}  (Ctrl-C stops it)`);
}

const stack = new Stack();
main(stack).catch((err: unknown) => {
  const e = err as { exitCode?: number; code?: string; message?: string };
  process.stderr.write(`lml start: ${e?.message ?? String(err)}\n`);
  // Bad input (a UsageError, an unknown flag) exits 2; whatever was started is stopped either way.
  void stack.stop(typeof e?.exitCode === "number" ? e.exitCode : e?.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? 2 : 1);
});
