/**
 * `next start` of the production build as a child process, on a free port or a given one (the live
 * test restarts the server on the same port). No database imports, so a Playwright spec can use it too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(web, "..", "..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Dashboard {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** `next start` against `databaseUrl`; resolves once /api/health answers 200. */
export async function startDashboard(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: { port?: number } = {},
): Promise<Dashboard> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    process.execPath,
    [join(root, "node_modules", "next", "dist", "bin", "next"), "start", "-H", "127.0.0.1", "-p", String(port)],
    {
      cwd: web,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, DATABASE_URL: databaseUrl, NEXT_TELEMETRY_DISABLED: "1", PORT: String(port) },
    },
  );
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`health: ${r.status} ${await r.text()}`);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`dashboard did not come up: ${String(err)}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Exited already (with a code, or killed by a signal: then exitCode stays null).
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}
