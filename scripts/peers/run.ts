/**
 * Peer rows for the 300-W tables: dlib's ERT and face-api.js's 68-point CNN, each predicting 68 points
 * on every crop of the common test set, scored by `lml eval`, written to
 * docs/reference/peers-300w-common.json. Run through run.mjs (see README.md).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  PEER_KEYS,
  PEER_NORMS,
  PEERS_FILE,
  parsePeersFile,
  PeerReferenceFileSchema,
  PeerRowSchema,
  type PeerKey,
  type PeerReferenceFile,
  type PeerRow,
} from "@lml/api/reference";
import { UsageError } from "@lml/core";
import { format, resolveConfig } from "prettier";
import { cropSide, listCrops, standardFaceBox, type PixelBox } from "./crops";
import { buildDlib, DLIB_MAX_UPSAMPLE, runDlib } from "./dlib";
import { FACE_API_MODEL_FILE, faceApiModelDir, loadFaceApi, runFaceApi } from "./face-api";
import { DLIB_MODEL, missingDataset, missingFor, softwareVersions, type Missing } from "./prerequisites";
import { evaluatorDescription, repoRoot, scorePredictions, shownPath } from "./score";

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Options {
  peer: PeerKey | "all";
  dir: string;
  out: string;
  keep?: string;
  check?: boolean;
}

function machine(): PeerRow["machine"] {
  const osRelease = existsSync("/etc/os-release")
    ? /PRETTY_NAME="?([^"\n]*)"?/.exec(readFileSync("/etc/os-release", "utf8"))?.[1]
    : undefined;
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osRelease ?? process.platform}, kernel ${release()}`,
    node: process.version,
  };
}

async function modelInfo(path: string): Promise<PeerRow["model"]> {
  const bytes = await readFile(path);
  return {
    file: path.startsWith(repoRoot) ? shownPath(path) : path,
    bytes: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

const boxText = (b: PixelBox) => `[${b.x0}, ${b.x1})×[${b.y0}, ${b.y1})`;

/** Runs one peer into `predDir`; returns what its row says about how, plus which images used the fixed box. */
async function predict(peer: PeerKey, testDir: string, stems: string[], side: number, predDir: string, box: PixelBox) {
  const boxWords = `the standard face box ${boxText(box)} of the ${side}² crop (the centred square of side ${side}/1.4 that holds the 68-point box in every 300w128 crop, rounded out to whole pixels)`;
  if (peer === "dlib") {
    const compile = buildDlib(log);
    const images = runDlib(testDir, stems, predDir, box);
    const fixed = new Set(images.filter((i) => !i.detected).map((i) => i.stem));
    const found = images.filter((i) => i.detected);
    const byUp = Array.from({ length: DLIB_MAX_UPSAMPLE + 1 }, (_, k) => `${found.filter((i) => i.upsample === k).length} at ${k}`);
    return {
      name: "dlib ERT (68)",
      method: "Ensemble of regression trees (Kazemi & Sullivan, CVPR 2014), dlib's 68-point model trained on iBUG 300-W",
      model: await modelInfo(DLIB_MODEL),
      protocol:
        `dlib's HOG frontal face detector (get_frontal_face_detector) on the crop as it is, upsampled only as needed: ` +
        `one more pyramid_up each time no face is found, up to ${DLIB_MAX_UPSAMPLE} (faces found with 0/1/2… pyramid_up steps: ${byUp.join(", ")}); of several detections the one overlapping the standard face box most (IoU); ` +
        `shape_predictor on the original crop inside that detection, as dlib's Python API does. No face at any level: ` +
        `scored from ${boxWords} (${fixed.size} images). dlib returns whole-pixel points (0-based pixel indices), written +1 as 1-based .pts. ` +
        `Built with: ${compile.replaceAll(repoRoot + "/", "")}.`,
      fixed,
    };
  }
  const faceapi = await loadFaceApi();
  await runFaceApi(faceapi, testDir, stems, side, predDir, box);
  return {
    name: "face-api.js 68-point CNN",
    method:
      "face-api.js faceLandmark68Net (depthwise-separable CNN regressing 68 points from a 112² face crop; vladmandic's maintained fork)",
    model: await modelInfo(join(faceApiModelDir(), FACE_API_MODEL_FILE)),
    protocol:
      `faceLandmark68Net.detectLandmarks on ${boxWords}, sliced from the RGB crop as a tensor (face-api pads to a square ` +
      `and resizes to 112² itself); no face detector. TF.js wasm backend. Positions + box corner (continuous frame) + 0.5 = 1-based .pts.`,
    fixed: new Set(stems),
  };
}

/** The rows already in the file (kept for peers not re-measured); a bad file stops the run untouched. */
async function readExisting(out: string): Promise<PeerReferenceFile | undefined> {
  if (!existsSync(out)) return undefined;
  return parsePeersFile(await readFile(out, "utf8"), out);
}

function report(rows: PeerRow[]): string {
  const lines = ["peer                        n    norm          NME     AUC@8   FR@8    AUC@10  FR@10   fixed-box"];
  for (const r of rows)
    for (const norm of PEER_NORMS) {
      const m = r.metrics[norm];
      lines.push(
        [
          r.name.padEnd(26),
          String(r.n).padStart(4),
          "  ",
          norm.padEnd(12),
          m.nme.toFixed(3).padStart(7),
          m.auc8.toFixed(4).padStart(7),
          `${(100 * m.fr8).toFixed(2)}%`.padStart(7),
          m.auc10.toFixed(4).padStart(7),
          `${(100 * m.fr10).toFixed(2)}%`.padStart(7),
          String(r.perImage.filter((p) => p.box === "fixed").length).padStart(6),
        ].join(" "),
      );
    }
  return lines.join("\n");
}

async function main(opts: Options, argv: string[]) {
  const dir = resolve(opts.dir);
  const testDir = join(dir, "common");
  const out = resolve(opts.out);
  const peers: PeerKey[] = opts.peer === "all" ? [...PEER_KEYS] : [opts.peer];
  const missing: Missing[] = [...missingDataset(testDir), ...peers.flatMap((p) => missingFor(p))];
  if (missing.length) {
    const fixes = [...new Set(missing.map((m) => m.fix))];
    throw new UsageError(
      `peers: missing prerequisites (nothing was run):\n${missing.map((m) => `  - ${m.what}`).join("\n")}\nto get them:\n${fixes.map((f) => `  ${f}`).join("\n")}`,
    );
  }
  if (opts.check) {
    log(`peers: prerequisites present for ${peers.join(", ")}; test set ${testDir}`);
    return;
  }
  const existing = await readExisting(out);
  const stems = await listCrops(testDir);
  const side = await cropSide(testDir, stems);
  const box = standardFaceBox(side);
  const command = ["node", "scripts/peers/run.mjs", ...argv].join(" ");
  const rows: PeerRow[] = [];
  for (const peer of peers) {
    const predDir = opts.keep ? resolve(opts.keep, peer) : await mkdtemp(join(tmpdir(), `lml-peers-${peer}-`));
    await mkdir(predDir, { recursive: true });
    try {
      log(`${peer}: predicting ${stems.length} crops of ${shownPath(testDir)} into ${predDir}`);
      if (peer === "dlib") buildDlib(log); // compiling is not part of the timed run
      const t0 = performance.now();
      const run = await predict(peer, testDir, stems, side, predDir, box);
      const wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
      log(`${peer}: scoring with lml eval`);
      const scores = scorePredictions(predDir, testDir);
      const row = PeerRowSchema.parse({
        key: peer,
        name: run.name,
        method: run.method,
        software: softwareVersions(peer),
        model: run.model,
        protocol: run.protocol,
        testSet: "common",
        n: scores.n,
        metrics: scores.metrics,
        detectorFailures: peer === "dlib" ? run.fixed.size : 0,
        wallSeconds,
        measuredAt: new Date().toISOString(),
        machine: machine(),
        command,
        // Per-image NMEs to 6 decimals (paired tests need no more); the aggregates stay as lml eval printed them.
        perImage: scores.perImage.map((p) => ({
          name: p.name,
          nme: Object.fromEntries(PEER_NORMS.map((norm) => [norm, Number(p.nme[norm].toFixed(6))])),
          box: run.fixed.has(p.name.replace(/\.pts$/, "")) ? "fixed" : "detected",
        })),
      });
      rows.push(row);
    } finally {
      if (!opts.keep) await rm(predDir, { recursive: true, force: true });
    }
  }
  const kept = (existing?.rows ?? []).filter((r) => !peers.includes(r.key));
  const file = PeerReferenceFileSchema.parse({
    kind: "lml.peer-reference-rows",
    version: 1,
    dataset: { folder: shownPath(dir), source: `${shownPath(join(dir, "SOURCE.md"))} (300-W common test: LFPW test 224 + HELEN test 330)` },
    evaluator: evaluatorDescription,
    rows: [...kept, ...rows].sort((a, b) => PEER_KEYS.indexOf(a.key) - PEER_KEYS.indexOf(b.key)),
  } satisfies PeerReferenceFile);
  await mkdir(dirname(out), { recursive: true });
  // Written as the repository's formatter would write it, so `prettier --check` and re-runs agree.
  await writeFile(out, await format(JSON.stringify(file), { ...(await resolveConfig(out)), filepath: out }));
  process.stdout.write(report(rows) + "\n");
  log(`peers: wrote ${shownPath(out)}`);
}

const USAGE = `usage: node scripts/peers/run.mjs [--peer dlib|face-api|all] [--dir <300w128 folder>] [--out <file>] [--keep <dir>] [--check]
  re-measures the peer rows (dlib ERT, face-api.js) on the 300-W common test crops with lml eval
  --peer   which peer (default all)
  --dir    the 300w128 dataset folder; its common/ is the test set (default ../shared/datasets/300w128)
  --out    the reference-rows file; rows of peers not re-measured are kept (default ${PEERS_FILE})
  --keep   keep the predicted .pts in <dir>/<peer> (default: a temporary folder, removed)
  --check  only check the prerequisites`;

function parseOptions(argv: string[]): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        peer: { type: "string", default: "all" },
        dir: { type: "string", default: join(repoRoot, "..", "shared", "datasets", "300w128") },
        out: { type: "string", default: join(repoRoot, PEERS_FILE) },
        keep: { type: "string" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError(`peers: ${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) return null;
  const peer = values.peer;
  if (peer !== "all" && !(PEER_KEYS as readonly string[]).includes(peer))
    throw new UsageError(`peers: --peer must be one of ${[...PEER_KEYS, "all"].join(", ")}, got "${peer}"`);
  return { peer: peer as Options["peer"], dir: values.dir, out: values.out, keep: values.keep, check: values.check };
}

async function cli(argv: string[]) {
  const opts = parseOptions(argv);
  if (!opts) process.stdout.write(USAGE + "\n");
  else await main(opts, argv);
}

cli(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
