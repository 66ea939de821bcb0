/**
 * The e2e harness (see run.mjs): database → build if stale → next start → Playwright → teardown.
 * Also used by `lml bench web` through `startDashboard`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate, startEmbeddedServer } from "@lml/db";
import { startDashboard, type Dashboard } from "./dashboard-process";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(web, "..", "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of readdirSync(path))
    if (e !== "node_modules" && e !== "generated" && !e.startsWith(".")) m = Math.max(m, newest(join(path, e)));
  return m;
}

/** Builds when .next/BUILD_ID is missing or older than any source the app compiles. */
export function buildIfStale(): void {
  const id = join(web, ".next", "BUILD_ID");
  const sources = [
    join(web, "src"),
    join(web, "next.config.ts"),
    join(web, "package.json"),
    ...["api", "core", "db", "synth"].map((p) => join(root, "packages", p, "src")),
  ];
  const built = existsSync(id) ? statSync(id).mtimeMs : 0;
  if (built && sources.every((s) => newest(s) <= built)) return;
  process.stderr.write("e2e: building the dashboard (next build)…\n");
  // Build logs go to stderr so that `lml bench web --json` keeps stdout to its one JSON line.
  const r = spawnSync(process.execPath, [join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: web,
    stdio: ["ignore", 2, 2],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (r.status !== 0) throw new Error("next build failed");
}

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  process.stderr.write("e2e: installing Debian chromium (apt-get)…\n");
  spawnSync("apt-get", ["install", "-y", "chromium"], { stdio: "inherit" });
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
}

export { startDashboard, type Dashboard } from "./dashboard-process";

/** A fresh migrated database: E2E_DATABASE_URL as given (migrated), else in-memory PGlite. */
export async function startDatabase(): Promise<{ url: string; close(): Promise<void> }> {
  const given = process.env.E2E_DATABASE_URL;
  if (given) {
    await migrate(given);
    return { url: given, close: async () => {} };
  }
  const server = await startEmbeddedServer({ dataDir: "memory://", port: 0 });
  await migrate(server.url);
  return { url: server.url, close: () => server.close() };
}

async function main() {
  ensureChromium();
  buildIfStale();
  const db = await startDatabase();
  let dash: Dashboard | null = null;
  let status = 1;
  try {
    dash = await startDashboard(db.url);
    process.stderr.write(`e2e: dashboard at ${dash.url}, database ${db.url}\n`);
    // Asynchronous on purpose: the embedded database is served from this process's event loop.
    const child = spawn(
      process.execPath,
      [
        join(root, "node_modules", "@playwright", "test", "cli.js"),
        "test",
        "-c",
        join(web, "playwright.config.ts"),
        ...process.argv.slice(2),
      ],
      {
        cwd: web,
        stdio: "inherit",
        env: { ...process.env, E2E_BASE_URL: dash.url, E2E_DATABASE_URL: db.url, CHROMIUM_PATH: CHROMIUM },
      },
    );
    status = await new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  } finally {
    await dash?.stop();
    await db.close();
  }
  process.exit(status);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`e2e: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
