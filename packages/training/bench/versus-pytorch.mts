// `lml bench train` (in this process) against PyTorch 1.13 on the same network (pytorch_hourglass.py, a
// child process), back to back for several rounds, on wall clock and on CPU time (process user + system:
// the fairer measure on a shared machine). Prints each round's two JSON lines, then the medians, the
// ratios (images/s ÷ images/s: both report the same FLOPs per image) and the load average.
//
//   npx tsx bench/versus-pytorch.mts [--rounds 5] [--backend native] [--threads 1] [--steps 8] [--tuned-pytorch]
//
// --threads sets LML_THREADS-equivalent for tfjs (native backend) and torch.set_num_threads for PyTorch.
// --tuned-pytorch also runs PyTorch with glibc malloc keeping freed memory (the tuning the native
// backend applies to itself, see packages/tfjs-backend-native), as a third column.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchTraining, type TrainBenchResult } from "../src/bench.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    backend: { type: "string", default: "native" },
    threads: { type: "string", default: "1" },
    steps: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    "tuned-pytorch": { type: "boolean", default: false },
  },
});
const rounds = Number(args.rounds);
const threads = Number(args.threads);
process.env.LML_THREADS = String(threads);
const here = dirname(fileURLToPath(import.meta.url));

type Row = { wall: { train: number; infer: number }; cpu: { train: number; infer: number } };
const rowOf = (r: TrainBenchResult): Row => ({
  wall: { train: r.trainImagesPerSec, infer: r.inferImagesPerSec },
  cpu: { train: r.cpu!.trainImagesPerSec, infer: r.cpu!.inferImagesPerSec },
});

function pytorch(tuned: boolean): TrainBenchResult {
  const env = { ...process.env };
  if (tuned) Object.assign(env, { MALLOC_MMAP_THRESHOLD_: String(64 << 20), MALLOC_TRIM_THRESHOLD_: String(2 ** 31 - 1) });
  const out = spawnSync(
    "/usr/bin/python3",
    [join(here, "pytorch_hourglass.py"), "--cpu-clock", "--threads", String(threads), "--steps", args.steps!, "--warmup", args.warmup!],
    { encoding: "utf8", env },
  );
  if (out.status !== 0) throw new Error(`pytorch_hourglass.py failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").pop()!) as TrainBenchResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const loadBefore = loadavg();
const cols: Record<string, Row[]> = { tfjs: [], pytorch: [], ...(args["tuned-pytorch"] ? { "pytorch-tuned": [] } : {}) };
let backend = "";
for (let i = 0; i < rounds; i++) {
  const t = await benchTraining({
    stacks: 2,
    channels: 64,
    depth: 2,
    landmarks: 490,
    batch: 16,
    steps: Number(args.steps),
    warmup: Number(args.warmup),
    backend: args.backend,
    cpuClock: true,
  });
  backend = t.backend;
  const p = pytorch(false);
  console.log(JSON.stringify(t));
  console.log(JSON.stringify(p));
  cols.tfjs.push(rowOf(t));
  cols.pytorch.push(rowOf(p));
  if (args["tuned-pytorch"]) {
    const q = pytorch(true);
    console.log(JSON.stringify({ ...q, backend: `${q.backend}-tuned-malloc` }));
    cols["pytorch-tuned"].push(rowOf(q));
  }
}
const loadAfter = loadavg();

const med = (rows: Row[], clock: "wall" | "cpu", kind: "train" | "infer") => median(rows.map((r) => r[clock][kind]));
const ratio = (a: Row[], b: Row[], clock: "wall" | "cpu", kind: "train" | "infer") =>
  median(a.map((r, i) => r[clock][kind] / b[i][clock][kind]));
console.log(
  `\n${rounds} rounds, tfjs backend ${backend}, ${threads} thread(s); load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
);
console.log("| | train img/s (wall) | infer img/s (wall) | train img/CPU-s | infer img/CPU-s |");
console.log("| --- | --- | --- | --- | --- |");
for (const [name, rows] of Object.entries(cols)) {
  console.log(
    `| ${name} | ${med(rows, "wall", "train").toFixed(1)} | ${med(rows, "wall", "infer").toFixed(1)} | ${med(rows, "cpu", "train").toFixed(1)} | ${med(rows, "cpu", "infer").toFixed(1)} |`,
  );
}
for (const ref of Object.keys(cols).filter((k) => k !== "tfjs")) {
  console.log(
    `| ratio tfjs / ${ref} (median of per-round ratios) | ${ratio(cols.tfjs, cols[ref], "wall", "train").toFixed(2)} | ${ratio(cols.tfjs, cols[ref], "wall", "infer").toFixed(2)} | ` +
      `${ratio(cols.tfjs, cols[ref], "cpu", "train").toFixed(2)} | ${ratio(cols.tfjs, cols[ref], "cpu", "infer").toFixed(2)} |`,
  );
}
