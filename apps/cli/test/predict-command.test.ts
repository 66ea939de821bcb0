/**
 * `lml predict` end to end, as a user runs it: `lml train` on a 300w128-style dataset (crops cut by the
 * framing rule from the real fixture photos, in a dataset root), `lml predict --checkpoint` on its
 * common images, then `lml eval` of the written .pts against the dataset's: the NME the run stored
 * (issue 12's round trip). And the exit code 2 cases.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { formatPts, list300W, loadFace } from "@lml/core";
import { beforeAll, describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const FIXTURES = resolve(root, "..", "shared", "fixtures", "real68");
let base: string;

function lml(...args: string[]) {
  const env = { ...process.env, LML_DATASETS: base, LML_DATA_DIR: join(base, "data") };
  const r = spawnSync(process.execPath, [join(root, "scripts", "lml.mjs"), ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 240_000,
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A 128-px crop cut by the framing rule, written as <stem>.png + 1-based .pts, as 300w128's are. */
async function writeCrop(photo: string, dir: string, stem: string, flip = false): Promise<void> {
  const [entry] = (await list300W(FIXTURES)).filter((e) => e.name === photo);
  const face = await loadFace(entry, { inputSize: 128, channels: 3 });
  let img = sharp(Buffer.from(face.image.map((v) => Math.round(v * 255))), { raw: { width: 128, height: 128, channels: 3 } });
  if (flip) img = img.flop();
  await img.png().toFile(join(dir, `${stem}.png`));
  const pts = flip ? face.landmarks.map((v, k) => (k % 2 === 0 ? 128 - v : v)) : face.landmarks;
  await writeFile(join(dir, `${stem}.pts`), formatPts(pts.map((v) => v + 0.5)));
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "lml-predict-cli-"));
  for (const split of ["train", "common"]) await mkdir(join(base, "crops", split), { recursive: true });
  for (const p of ["einstein", "breakingbad"]) {
    await writeCrop(p, join(base, "crops", "train"), `${p}-a`);
    await writeCrop(p, join(base, "crops", "train"), `${p}-b`, true);
    await writeCrop(p, join(base, "crops", "common"), p);
  }
  // A tiny supervised-real run on the dataset (a few CPU-seconds).
  await writeFile(
    join(base, "run.json"),
    JSON.stringify({
      regime: "supervised-real",
      seed: 4,
      model: { inputSize: 32, stacks: 1, channels: 8, depth: 1, heatmapSize: 8 },
      data: { syntheticTest: 2, real: { source: "300w", dir: join(base, "crops") } },
      train: { epochs: 2, batchSize: 2 },
      eval: { mlpEpochs: 3, mlpHidden: 8, sampleImages: 0, flipTest: true }, // predict must flip-test as the evaluation did
    }),
  );
}, 60_000);

describe("lml predict", { timeout: 300_000 }, () => {
  it("predicts .pts files that lml eval scores at the NME the run stored", async () => {
    const trained = lml("train", "--config", join(base, "run.json"), "--out", join(base, "out"), "--json");
    expect(trained.code, trained.stderr).toBe(0);
    const summary = JSON.parse(trained.stdout) as { evaluations: { testSet: string; protocol: string; norm: string; nme: number }[] };
    expect((await readdir(join(base, "out"))).sort()).toEqual(["checkpoint.bin", "evaluations.json", "metrics.jsonl", "test-time-mlp.bin"]);
    // The curves, one metric point per line: the loss and the CPU seconds spent, at the same steps.
    const points = (await readFile(join(base, "out", "metrics.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name: string; step: number; value: number });
    const cpu = points.filter((p) => p.name === "train/cpu_seconds");
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu.map((p) => p.step)).toEqual(points.filter((p) => p.name === "train/loss").map((p) => p.step));
    expect(cpu.every((p, i) => p.value > 0 && (i === 0 || p.value >= cpu[i - 1].value))).toBe(true);
    expect((JSON.parse(trained.stdout) as { cpuSeconds: number }).cpuSeconds).toBeGreaterThanOrEqual(cpu[cpu.length - 1].value);
    // no challenging split in the dataset: no challenging evaluation at all
    expect(summary.evaluations.some((e) => e.testSet === "challenging")).toBe(false);

    const predicted = lml(
      "predict",
      "--checkpoint",
      join(base, "out"),
      "--images",
      join(base, "crops", "common"),
      "--out",
      join(base, "pred"),
    );
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout).toMatch(/2 images, protocol test-time-mlp \(serves nearest-subset, test-time-mlp, direct\)/);
    expect((await readdir(join(base, "pred"))).sort()).toEqual(["breakingbad.pts", "einstein.pts"]);

    for (const norm of ["inter-pupil", "inter-ocular"]) {
      const scored = lml("eval", "--pred", join(base, "pred"), "--gt", join(base, "crops", "common"), "--norm", norm, "--json");
      expect(scored.code, scored.stderr).toBe(0);
      const stored = summary.evaluations.find((e) => e.testSet === "common" && e.protocol === "test-time-mlp" && e.norm === norm)!;
      expect(JSON.parse(scored.stdout).nme).toBeCloseTo(stored.nme, 3);
    }
  });

  it("exits 2 with a clear message on an unknown checkpoint, a bad flag set, a protocol it cannot serve, an unreadable image", async () => {
    const images = join(base, "crops", "common");
    let r = lml("predict", "--checkpoint", join(base, "nope"), "--images", images, "--out", join(base, "p2"));
    expect([r.code, r.stderr.trim()]).toEqual([2, `lml: --checkpoint ${join(base, "nope")}: no such file or folder`]);
    r = lml("predict", "--run", "x", "--checkpoint", join(base, "out"), "--images", images, "--out", join(base, "p2"));
    expect([r.code, r.stderr.trim()]).toEqual([2, "lml: predict: give exactly one of --run <id|name> and --checkpoint <path>"]);
    r = lml("predict", "--checkpoint", join(base, "out"), "--images", images, "--out", join(base, "p2"), "--dense");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dense: .* predicts the 68 points only \(supervised-real\); it has no dense points/);
    await mkdir(join(base, "bad"), { recursive: true });
    await writeFile(join(base, "bad", "face.jpg"), "not a jpeg");
    r = lml("predict", "--checkpoint", join(base, "out"), "--images", join(base, "bad"), "--out", join(base, "p3"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\/face\.jpg: cannot decode image/);
  });
});
