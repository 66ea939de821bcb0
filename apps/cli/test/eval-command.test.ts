/**
 * `lml eval` end to end: spawns the real command line (as `npm run -s lml -- eval` does) on .pts folders
 * built from the real 300-W fixtures, and checks its JSON and exit codes.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
// shared/ sits beside the repository root (in CI too).
const FIXTURES = resolve(root, "..", "shared", "fixtures", "real68");

function lml(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "scripts", "lml.mjs"), ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function parse(text: string): number[] {
  const body = text.split("{")[1].split("}")[0].trim().split("\n");
  return body.flatMap((l) => l.trim().split(/\s+/).map(Number));
}

function pts(values: number[]): string {
  const rows = [];
  for (let i = 0; i < values.length; i += 2) rows.push(`${values[i]} ${values[i + 1]}`);
  return `version: 1\nn_points: ${values.length / 2}\n{\n${rows.join("\n")}\n}\n`;
}

let base: string;
let einsteinGt: number[];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "lml-eval-"));
  for (const d of ["gt/sub", "pred/sub"]) await mkdir(join(base, d), { recursive: true });
  // GT: the two real files, one in a sub-folder (pairing is by relative path).
  await copyFile(join(FIXTURES, "einstein.pts"), join(base, "gt", "einstein.pts"));
  await copyFile(join(FIXTURES, "breakingbad.pts"), join(base, "gt", "sub", "breakingbad.pts"));
  einsteinGt = parse(await readFile(join(FIXTURES, "einstein.pts"), "utf8"));
  // Predictions: einstein moved by (3, 4) — 5 px at every point — and breakingbad exact.
  await writeFile(join(base, "pred", "einstein.pts"), pts(einsteinGt.map((v, k) => v + (k % 2 === 0 ? 3 : 4))));
  await copyFile(join(FIXTURES, "breakingbad.pts"), join(base, "pred", "sub", "breakingbad.pts"));
});

// Each spawn takes a second or two on a loaded 2-core machine: allow far more than vitest's 5 s default.
describe("lml eval", { timeout: 120_000 }, () => {
  it("prints one JSON object with the hand-computed metrics", () => {
    const r = lml("eval", "--pred", join(base, "pred"), "--gt", join(base, "gt"), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["auc10", "auc8", "count", "fr10", "fr8", "nme", "perLandmark"]);
    // Inter-pupil distance of the einstein GT, by hand: eye centres are the means of 36–41 and 42–47.
    const centre = (from: number) => [0, 1].map((c) => [0, 1, 2, 3, 4, 5].reduce((s, k) => s + einsteinGt[2 * (from + k) + c], 0) / 6);
    const [a, b] = [centre(36), centre(42)];
    const e = 500 / Math.hypot(a[0] - b[0], a[1] - b[1]); // einstein's NME; breakingbad's is 0
    expect(out.count).toBe(2);
    expect(out.nme).toBeCloseTo(e / 2, 3);
    expect(out.perLandmark).toHaveLength(68);
    for (const v of out.perLandmark) expect(v).toBeCloseTo(e / 2, 3);
    expect(out.fr8).toBe(e > 8 ? 0.5 : 0);
    expect(out.auc8).toBeCloseTo((Math.max(0, 8 - e) + 8) / 16, 4);
    expect(out.auc10).toBeCloseTo((Math.max(0, 10 - e) + 10) / 20, 4);
  });

  it("adds each image's NME by relative name with --per-image, and needs --json for it", () => {
    const r = lml("eval", "--pred", join(base, "pred"), "--gt", join(base, "gt"), "--json", "--per-image");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.perImage.map((p: { name: string }) => p.name)).toEqual(["einstein.pts", "sub/breakingbad.pts"]);
    expect(out.perImage[0].nme).toBeCloseTo(2 * out.nme, 6); // einstein carries all the error
    expect(out.perImage[1].nme).toBe(0);
    const bad = lml("eval", "--pred", join(base, "pred"), "--gt", join(base, "gt"), "--per-image");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--per-image needs --json/);
  });

  it("prints a readable table without --json", () => {
    const r = lml("eval", "--pred", join(base, "pred"), "--gt", join(base, "gt"), "--norm", "inter-ocular");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^images\s+2$/m);
    expect(r.stdout).toMatch(/^NME\s+\d+\.\d{3}$/m);
    expect(r.stdout).toMatch(/AUC@8\s+\d\.\d{4}\s+FR@8/);
    expect(r.stdout).toMatch(/36 right-eye-outer\s+\d+\.\d{3}/);
  });

  it("exits 2 when a GT file has no prediction", async () => {
    const dir = join(base, "pred-missing");
    await mkdir(dir, { recursive: true });
    await copyFile(join(FIXTURES, "einstein.pts"), join(dir, "einstein.pts"));
    const r = lml("eval", "--pred", dir, "--gt", join(base, "gt"), "--json");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/1 GT file\(s\) in .* have no prediction .*: sub\/breakingbad\.pts/);
  });

  it("exits 2 when point counts differ", async () => {
    const dir = join(base, "pred-short");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "einstein.pts"), pts(einsteinGt.slice(0, 2 * 67)));
    await copyFile(join(FIXTURES, "breakingbad.pts"), join(dir, "sub", "breakingbad.pts"));
    const r = lml("eval", "--pred", dir, "--gt", join(base, "gt"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/einstein\.pts: prediction has 67 points .* GT has 68/);
  });

  it("exits 2 on a malformed .pts, naming the file and line", async () => {
    const dir = join(base, "pred-bad");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "einstein.pts"), pts(einsteinGt).replace(/\n[^\n]*\n\}/, "\n1 two\n}"));
    await copyFile(join(FIXTURES, "breakingbad.pts"), join(dir, "sub", "breakingbad.pts"));
    const r = lml("eval", "--pred", dir, "--gt", join(base, "gt"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/einstein\.pts:71: line 71: y is not a number$/m);
    expect(r.stderr).not.toContain("two"); // the file's text is never quoted (issue 16.1)
  });

  it("exits 2 on a bad --norm and on a missing folder, through npm run -s lml", () => {
    const npm = (...args: string[]) =>
      spawnSync("npm", ["run", "-s", "lml", "--", ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
    const bad = npm("eval", "--pred", join(base, "pred"), "--gt", join(base, "gt"), "--norm", "eyes");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--norm must be one of inter-pupil, inter-ocular, bbox, got "eyes"/);
    const missing = lml("eval", "--pred", join(base, "nowhere"), "--gt", join(base, "gt"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--pred .*nowhere: not a folder/);
  });
});
