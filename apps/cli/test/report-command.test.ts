/**
 * `lml report` end to end: a grid with two regimes × two seeds and known evaluations in a real
 * database; the spawned command must print mean ± std over seeds (and the CSV the same raw numbers).
 */
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { submitGrid, writeEvaluations } from "@lml/db";
import { describeEachDatabase } from "@lml/db/testing";
import { beforeAll, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

// Asynchronous on purpose: the PGlite test database is served from this process's event loop.
function lml(url: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(root, "apps/cli/src/cli.ts"), ...args],
      { cwd: root, encoding: "utf8", env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 },
      (err, stdout, stderr) => done({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

// NME on the common test set per (regime, seed): synthetic-only 8 and 10 → 9 ± 1.414; the other 4 and 6 → 5 ± 1.414.
const NME: Record<string, number[]> = { "synthetic-only": [8, 10], "syn-real-label-adaptation": [4, 6] };

describeEachDatabase("lml report", (db) => {
  beforeAll(async () => {
    const cells = Object.keys(NME).flatMap((regime) =>
      [1, 2].map((seed) => ({ name: `${regime}/seed=${seed}`, config: { regime, seed } })),
    );
    const grid = await submitGrid(db().prisma, { name: "report-test" }, null, { cells });
    // The report reads succeeded runs only.
    await db().prisma.run.updateMany({ where: { gridId: grid.id }, data: { status: "SUCCEEDED" } });
    for (const run of await db().prisma.run.findMany({ where: { gridId: grid.id } })) {
      const nme = NME[run.regime]![run.seed - 1]!;
      const perImage = [nme - 1, nme, nme + 1];
      await writeEvaluations(db().prisma, run.id, [
        {
          testSet: "common",
          protocol: "nearest-subset",
          norm: "inter-pupil",
          nme,
          auc8: 0.5,
          fr8: 0.1,
          auc10: 0.6,
          fr10: 0.05,
          count: 3,
          perImage,
        },
        // A 68-point evaluation for the heatmap figure: error grows with the landmark index.
        {
          testSet: "common",
          protocol: "direct",
          norm: "inter-pupil",
          nme,
          auc8: 0.5,
          fr8: 0.1,
          auc10: 0.6,
          fr10: 0.05,
          count: 3,
          perImage,
          perLandmark: Array.from({ length: 68 }, (_, i) => nme + i / 10),
        },
      ]);
    }
  });

  it("prints mean ± std over seeds with n as Markdown and CSV", async () => {
    const md = await lml(db().rawUrl, "report", "--grid", "report-test", "--format", "md");
    expect(md.stderr).toBe("");
    expect(md.status).toBe(0);
    const row = (label: RegExp) => md.stdout.split("\n").find((l) => label.test(l)) ?? "";
    expect(row(/^\| Synthetic only/)).toContain("9.000 ± 1.414 (n=2)");
    // Best in bold; † because three images are too few for the paired test to separate the two.
    expect(row(/^\| Syn\+real/)).toContain("**5.000 ± 1.414**† (n=2)");

    const csv = await lml(db().rawUrl, "report", "--grid", "report-test", "--format", "csv");
    expect(csv.status).toBe(0);
    const lines = csv.stdout.trim().split("\n");
    const header = lines[0]!.split(",");
    const synthOnly = lines.find((l) => l.startsWith("nearest-subset,") && l.includes(",synthetic-only,"))!.split(",");
    expect(Number(synthOnly[header.indexOf("common_mean")])).toBe(9);
    expect(Number(synthOnly[header.indexOf("common_n")])).toBe(2);
  }, 120_000);

  it("draws the two regimes' per-landmark errors side by side as a PNG", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "lml-report-")), "heatmap.png");
    const args = ["report", "--grid", "report-test", "--heatmap", out, "--heatmap-test-set", "common", "--heatmap-protocol", "direct"];
    const r = await lml(db().rawUrl, ...args);
    expect(r.stderr).toContain(`wrote ${out}`);
    expect(r.status).toBe(0);
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(2 * 420); // one panel per regime
    const none = await lml(db().rawUrl, "report", "--grid", "report-test", "--heatmap", out);
    expect(none.status).toBe(2); // no dense synthetic-test evaluations were stored
    expect(none.stderr).toContain('no synthetic-test/dense/inter-pupil evaluations of regime "synthetic-only"');
  }, 120_000);

  it("names a bad option value and an unknown grid", async () => {
    const bad = await lml(db().rawUrl, "report", "--grid", "report-test", "--norm", "eyes");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--norm "eyes"');
    const missing = await lml(db().rawUrl, "report", "--grid", "no-such-grid");
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("no-such-grid");
  }, 120_000);
});
