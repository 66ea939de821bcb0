// Issue 16.2 and 16.7 as an operator meets them: `npm start` refuses an open dashboard on the network,
// and SIGTERM to the pid of `npm start` or `npm run lml -- work` stops every process it started (the
// worker kept training, the whole stack kept running, next-server was orphaned and still answered).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openTestDatabase, type TestDatabase } from "@lml/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every process below `pid` now, from /proc (pid → parent). */
function descendants(pid: number): Array<{ pid: number; cmd: string }> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: Array<{ pid: number; cmd: string }> = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue;
    }
    out.push({ pid: p, cmd });
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Launched {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** `npm <args>` from the repository root, as an operator types it. */
function npm(args: string[], env: Record<string, string>): Launched {
  const child = spawn("npm", args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function waitForOutput(l: Launched, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(l.output())) {
    if (l.child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in the output:\n${l.output()}`);
    await sleep(200);
  }
}

/** SIGTERM to the launched pid only (not its group); then every process it had started must be gone. */
async function terminateAndCheck(l: Launched, within: number): Promise<Array<{ pid: number; cmd: string }>> {
  const started = descendants(l.child.pid!);
  l.child.kill("SIGTERM");
  await l.exited;
  const deadline = Date.now() + within;
  while (started.some((p) => alive(p.pid)) && Date.now() < deadline) await sleep(200);
  const left = started.filter((p) => alive(p.pid));
  for (const p of left) process.kill(p.pid, "SIGKILL"); // not to leave them to the next test
  expect(left, l.output()).toEqual([]);
  return started;
}

describe("npm run lml -- work", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openTestDatabase({ kind: "pglite" });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("SIGTERM to the pid npm was given stops the worker and everything under it", async () => {
    const l = npm(["run", "-s", "lml", "--", "work", "--worker-id", "hygiene"], { DATABASE_URL: db.rawUrl, LML_LOG_LEVEL: "info" });
    await waitForOutput(l, /"msg":"worker started"/, 120_000);
    const started = await terminateAndCheck(l, 30_000);
    expect(started.map((p) => p.cmd).join("\n")).toMatch(/scripts\/lml\.mjs work --worker-id hygiene/);
    expect((await db.prisma.worker.findUniqueOrThrow({ where: { id: "hygiene" } })).stoppedAt).not.toBeNull();
  });
});

describe("npm start", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "lml-start-"));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("refuses HOST beyond loopback without LML_TOKEN before starting anything (exit 2)", async () => {
    const l = npm(["start"], { HOST: "0.0.0.0", LML_TOKEN: "", LML_DATA_DIR: dataDir, PORT: String(await freePort()) });
    const { code } = await l.exited;
    expect(code, l.output()).toBe(2);
    expect(l.output()).toMatch(
      /lml start: HOST=0\.0\.0\.0 \(port \d+\) makes the dashboard reachable from other machines, and without LML_TOKEN anyone who reaches it can submit, cancel and re-queue runs: set LML_TOKEN/,
    );
    expect(existsSync(join(dataDir, "pglite"))).toBe(false); // no database was opened
  });

  it("SIGTERM to the pid npm was given stops the worker, next-server and the database", async () => {
    const port = await freePort();
    // A stale dashboard build is served as it is (--no-build); without any build it is built first.
    const build = existsSync(join(root, "apps/web/.next/BUILD_ID")) ? ["--", "--no-build"] : [];
    const l = npm(["start", ...build], {
      PORT: String(port),
      LML_DB_PORT: String(await freePort()),
      LML_DATA_DIR: dataDir,
      HOST: "",
      LML_TOKEN: "",
    });
    await waitForOutput(l, /Landmark Lab is running at http:\/\/127\.0\.0\.1:\d+/, 280_000);
    const started = await terminateAndCheck(l, 90_000);
    const commands = started.map((p) => p.cmd).join("\n");
    expect(commands).toMatch(/next-server|next\/dist\/bin\/next start/);
    expect(commands).toMatch(/apps\/trainer\/src\/main\.ts/);
    await expect(fetch(`http://127.0.0.1:${port}/api/health`)).rejects.toThrow();
  });
});
