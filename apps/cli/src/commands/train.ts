/**
 * `lml train --config run.json [--out dir] [--json]`: one experiment, locally, without the database.
 * Checkpoints every epoch into the output folder and resumes from it when one is there; shows a progress
 * bar on stderr; prints the evaluation table (or, with --json, one JSON object) on stdout. The final
 * evaluation's sample-prediction strips are written next to evaluations.json (`samples-<set>-<protocol>.png`),
 * and the curves (metric points, `train/cpu_seconds` among them) to metrics.jsonl as they come.
 */
import type { Command } from "commander";

interface TrainOptions {
  config: string;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train one run config locally (no database), checkpointing and resuming, then print its evaluations")
    .requiredOption("--config <file>", "a RunConfig as JSON or YAML (every field but `regime` has a default)")
    .option("--out <dir>", "checkpoint and results folder (default: ${LML_DATA_DIR:-.data}/runs/<config file name>)")
    .option("--json", "print one JSON object { config, backend, steps, seconds, cpuSeconds, evaluations, samples } instead of the table")
    .action(async (opts: TrainOptions) => {
      await runTrain(opts);
    });
}

async function runTrain(opts: TrainOptions): Promise<void> {
  const { appendFile, readFile, writeFile, mkdir } = await import("node:fs/promises");
  const { existsSync } = await import("node:fs");
  const { basename, extname, join, resolve } = await import("node:path");
  const { parse: parseYaml } = await import("yaml");
  const { UsageError, parseRunConfig } = await import("@lml/core");

  const file = resolve(opts.config);
  if (!existsSync(file)) throw new UsageError(`--config: no such file ${opts.config}`);
  let raw: unknown;
  try {
    const text = await readFile(file, "utf8");
    raw = extname(file) === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UsageError(`--config ${opts.config}: not valid ${extname(file) === ".json" ? "JSON" : "YAML"} (${(err as Error).message})`);
  }
  const config = parseRunConfig(raw, `--config ${opts.config}`);
  const name = basename(file, extname(file));
  const out = resolve(opts.out ?? join(process.env.LML_DATA_DIR ?? ".data", "runs", name));

  // The engine (tfjs) loads only once the config is known to be good.
  const { folderCheckpointStore, train } = await import("@lml/training");
  const { SingleBar } = await import("cli-progress");

  const store = folderCheckpointStore(out);
  const resumed = (await store.load()) !== null;
  process.stderr.write(`lml train: ${config.regime}, seed ${config.seed} → ${out}${resumed ? " (resuming from its checkpoint)" : ""}\n`);
  const bar = new SingleBar({
    stream: process.stderr,
    format: "epoch {epoch}/{epochs} |{bar}| step {value}/{total} | loss {loss} | {ips} img/s | ETA {eta_formatted}",
    etaBuffer: 50,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  let started = false;
  // Curves (train/loss…, train/cpu_seconds, eval/<set>/<protocol>/<norm>/nme at eval.everyEpochs) as one
  // JSON object per line, appended, so a resumed run continues its file.
  await mkdir(out, { recursive: true });
  const metricsFile = join(out, "metrics.jsonl");
  const result = await train(config, {
    checkpoint: store,
    async onMetric(points) {
      await appendFile(metricsFile, points.map((p) => JSON.stringify(p) + "\n").join(""));
    },
    onProgress(p) {
      const payload = { epoch: p.epoch, epochs: config.train.epochs, loss: p.loss.toFixed(4), ips: p.imagesPerSec.toFixed(1) };
      if (!started) {
        bar.start(p.totalSteps, p.step - 1, payload);
        started = true;
      }
      bar.update(p.step, payload);
      if (p.step === p.totalSteps) {
        bar.stop();
        process.stderr.write("lml train: evaluating…\n");
      }
    },
  }).finally(() => {
    if (started) bar.stop();
  });

  for (const a of result.artifacts) await writeFile(join(out, a.name), a.bytes);
  // Sample strips (PNG) and the fitted test-time MLP (test-time-mlp.bin, for `lml predict`) sit beside the checkpoint.
  const samples = result.artifacts.filter((a) => a.kind === "samples").map((a) => a.name);
  const summary = {
    name,
    config,
    backend: result.backend,
    steps: result.steps,
    seconds: result.seconds,
    cpuSeconds: result.cpuSeconds,
    evaluations: result.evaluations,
    samples,
  };
  await writeFile(join(out, "evaluations.json"), JSON.stringify(summary, null, 2));
  if (opts.json) {
    process.stdout.write(JSON.stringify(summary) + "\n");
    return;
  }
  process.stdout.write(
    `${name}: ${config.regime}, seed ${config.seed}, ${result.steps} steps on ${result.backend} in ${result.seconds.toFixed(1)} s\n\n`,
  );
  process.stdout.write(formatTable(result.evaluations) + "\n");
}

/** One row per (test set, protocol): NME under both norms, then AUC@8/FR@8 (inter-ocular) and the image count. */
export function formatTable(
  records: Array<{ testSet: string; protocol: string; norm: string; nme: number; auc8: number; fr8: number; count: number }>,
): string {
  const rows = new Map<string, Record<string, number | string>>();
  for (const r of records) {
    const key = `${r.testSet}\u0000${r.protocol}`;
    const row = rows.get(key) ?? { testSet: r.testSet, protocol: r.protocol, count: r.count };
    row[`nme:${r.norm}`] = r.nme;
    if (r.norm === "inter-ocular") {
      row.auc8 = r.auc8;
      row.fr8 = r.fr8;
    }
    rows.set(key, row);
  }
  const head = ["test set", "protocol", "NME ip", "NME io", "AUC8 io", "FR8 io", "images"];
  const fmt = (v: unknown, d: number) => (typeof v === "number" ? v.toFixed(d) : "–");
  const body = [...rows.values()].map((r) => [
    String(r.testSet),
    String(r.protocol),
    fmt(r["nme:inter-pupil"], 3),
    fmt(r["nme:inter-ocular"], 3),
    fmt(r.auc8, 3),
    fmt(r.fr8, 3),
    String(r.count),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
