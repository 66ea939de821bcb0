// The deployable worker's entry: its flags are checked before anything else starts (exit 2, the flag named).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");

function worker(...args: string[]) {
  // No database is reachable there: a flag error must come before any connection attempt.
  const r = spawnSync(process.execPath, ["--import", "tsx", join(app, "src", "main.ts"), ...args], {
    cwd: app,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" },
  });
  return { code: r.status, stderr: r.stderr };
}

describe("apps/trainer worker entry", () => {
  it("rejects bad flags with exit 2 and the flag's name", () => {
    expect(worker("--max-runs", "0")).toEqual({ code: 2, stderr: 'lml worker: --max-runs: expected a positive integer, got "0"\n' });
    const unknown = worker("--max-run", "3");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^lml worker: Unknown option '--max-run'/);
    // A lease beyond a day overflowed the 32-bit milliseconds of every claim and renewal (issue 16.6).
    expect(worker("--lease", "1e10")).toEqual({
      code: 2,
      stderr: 'lml worker: --lease: expected a number of seconds from 1 to 86400, got "1e10"\n',
    });
  }, 60_000);
});
