/**
 * Evidence for docs/RESULTS.md: paired differences behind the study's four findings, from the stored
 * evaluations of one grid (per-seed differences, their mean ± std over seeds, and a Wilcoxon
 * signed-rank test over images on the seed-averaged per-image NMEs), plus how the real test sets'
 * pose and face size relate to the error.
 *
 *   DATABASE_URL=… node --import tsx scripts/study-findings.ts <grid id|name> [norm]
 */
import { comparePaired, DEFAULT_NORM, REGIMES, RunConfigSchema, summarize, TABLE_PROTOCOLS, TEST_SET_INFO, TEST_SETS } from "@lml/core";
import { connectDatabase, resolveGrid } from "@lml/db";

const REAL_SETS = TEST_SETS.filter((t) => TEST_SET_INFO[t].domain === "real");
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "–");

async function main() {
  const [ref = "seed-study", norm = DEFAULT_NORM] = process.argv.slice(2);
  const db = await connectDatabase();
  try {
    const grid = await resolveGrid(db.prisma, ref);
    const runs = await db.prisma.run.findMany({
      where: { gridId: grid.id, status: "SUCCEEDED" },
      select: {
        id: true,
        regime: true,
        seed: true,
        config: true,
        evaluations: { where: { norm }, select: { testSet: true, protocol: true, nme: true, perImage: true } },
      },
    });
    // (regime, seed) → (testSet/protocol) → per-image NMEs
    const byKey = new Map<string, Map<string, number[]>>();
    for (const r of runs) {
      byKey.set(`${r.regime}#${r.seed}`, new Map(r.evaluations.map((e) => [`${e.testSet}/${e.protocol}`, e.perImage])));
    }
    const seeds = [...new Set(runs.map((r) => r.seed))].sort();
    const per = (regime: string, cell: string, seed: number) => byKey.get(`${regime}#${seed}`)?.get(cell);
    const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    /** A − B: per-seed mean differences (same seed, same images) and a Wilcoxon test on seed-averaged images. */
    const compare = (a: [string, string], b: [string, string]) => {
      const diffs: number[] = [];
      const avgA: number[][] = [];
      const avgB: number[][] = [];
      for (const s of seeds) {
        const x = per(a[0], a[1], s);
        const y = per(b[0], b[1], s);
        if (!x || !y) continue;
        diffs.push(meanOf(x) - meanOf(y));
        avgA.push(x);
        avgB.push(y);
      }
      if (!diffs.length) return null;
      const imgMean = (rows: number[][]) => rows[0]!.map((_, i) => meanOf(rows.map((r) => r[i]!)));
      const summary = summarize(diffs);
      const test = comparePaired(imgMean(avgA), imgMean(avgB));
      const better = diffs.filter((d) => d < 0).length;
      return `${fmt(summary.mean)} ± ${fmt(summary.std)} (A better in ${better}/${diffs.length} seeds; Wilcoxon over ${test.n} images p = ${test.p.toExponential(2)})`;
    };

    console.log(`# Paired differences, grid ${grid.name} (${grid.id}), ${norm}, NME A − B (negative: A better)\n`);
    console.log(`## Finding 1: syn+real with label adaptation vs the others`);
    for (const set of REAL_SETS) {
      for (const protocol of TABLE_PROTOCOLS) {
        for (const other of ["synthetic-only", "uda-discriminator"]) {
          const c = compare(["syn-real-label-adaptation", `${set}/${protocol}`], [other, `${set}/${protocol}`]);
          console.log(`- ${set}, ${protocol}: syn-real − ${other} = ${c}`);
        }
      }
    }
    console.log(`\n## Finding 2: test-time MLP − nearest subset, per model`);
    for (const regime of REGIMES) {
      for (const set of REAL_SETS) {
        const c = compare([regime, `${set}/test-time-mlp`], [regime, `${set}/nearest-subset`]);
        console.log(`- ${regime}, ${set}: ${c}`);
      }
    }
    console.log(`\n## Finding 3: supervised real-only (direct 68) − synthetic models (nearest subset)`);
    for (const other of ["synthetic-only", "syn-real-label-adaptation", "uda-discriminator"]) {
      for (const set of REAL_SETS) {
        const c = compare(["supervised-real", `${set}/nearest-subset`], [other, `${set}/nearest-subset`]);
        console.log(`- ${set}: supervised-real − ${other} = ${c}`);
      }
    }

    // Pose and face size of the real test images (proxy-real when no 300-W folder is configured).
    const config = RunConfigSchema.parse(runs[0]!.config);
    if (config.data.real.source === "proxy-real") {
      const { createDataset } = await import("@lml/synth");
      const { join } = await import("node:path");
      console.log(`\n## Real test sets (simulated proxy-real): pose, inter-pupil distance and error`);
      for (const [split, count, seed] of [
        ["common", config.data.realCommon, 303],
        ["challenging", config.data.realChallenging, 404],
      ] as const) {
        const ds = createDataset({
          domain: "proxy-real",
          split,
          count,
          seed,
          size: config.model.inputSize,
          channels: config.model.inputChannels,
          scheme: config.data.scheme,
          cacheDir: join(process.env.LML_DATA_DIR ?? ".data", "synth"),
        });
        const yaw: number[] = [];
        const ipd: number[] = [];
        for (let i = 0; i < ds.length; i++) {
          const s = ds.get(i);
          yaw.push(Math.abs(s.pose.yaw));
          const eye = (from: number) => {
            let x = 0,
              y = 0;
            for (let k = from; k < from + 6; k++) {
              x += s.landmarks68[2 * k]!;
              y += s.landmarks68[2 * k + 1]!;
            }
            return [x / 6, y / 6] as const;
          };
          const [l, r] = [eye(36), eye(42)];
          ipd.push(Math.hypot(l[0] - r[0], l[1] - r[1]));
        }
        const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
        const nme = seeds.map((s) => per("synthetic-only", `${split}/test-time-mlp`, s)).filter(Boolean) as number[][];
        const avg = nme[0]!.map((_, i) => meanOf(nme.map((r) => r[i]!)));
        const frontal = avg.filter((_, i) => yaw[i]! < 45);
        const profile = avg.filter((_, i) => yaw[i]! >= 45);
        console.log(
          `- ${split}: |yaw| median ${fmt(q(yaw, 0.5), 1)}°, 90th pct ${fmt(q(yaw, 0.9), 1)}°, ${profile.length}/${avg.length} images with |yaw| ≥ 45°; ` +
            `inter-pupil distance 10th/50th pct ${fmt(q(ipd, 0.1), 1)}/${fmt(q(ipd, 0.5), 1)} px of ${config.model.inputSize}; ` +
            `synthetic-only test-time-MLP NME: |yaw| < 45° ${fmt(frontal.length ? meanOf(frontal) : NaN)} (n=${frontal.length}), ≥ 45° ${fmt(profile.length ? meanOf(profile) : NaN)} (n=${profile.length})`,
        );
      }
    }
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
