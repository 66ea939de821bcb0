/**
 * `lml eval --pred <dir> --gt <dir> [--norm inter-pupil|inter-ocular|bbox] [--json [--per-image]]`: scores predicted
 * `.pts` files against ground truth ones of the same relative name (both folders searched recursively).
 * Imports only @lml/core, so it starts fast (no tfjs).
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Command } from "commander";
import { IBUG68, NORM_KINDS, UsageError, evaluateShapes, readPts, type EvaluationResult, type NormKind } from "@lml/core";

interface EvalOptions {
  pred?: string;
  gt?: string;
  norm: string;
  json?: boolean;
  perImage?: boolean;
}

async function listPts(dir: string, flag: string): Promise<Map<string, string>> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new UsageError(`${flag} ${dir}: not a folder`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out = new Map<string, string>();
  for (const e of entries) {
    if (!e.isFile() || !/\.pts$/i.test(e.name)) continue;
    const path = join(e.parentPath, e.name);
    out.set(relative(dir, path).split(sep).join("/"), path);
  }
  if (out.size === 0) throw new UsageError(`${flag} ${dir}: no .pts files`);
  return out;
}

function listSome(names: string[]): string {
  return names.slice(0, 5).join(", ") + (names.length > 5 ? `, … (${names.length - 5} more)` : "");
}

/** Reads and pairs the two folders; every mismatch is a UsageError (exit 2). */
export async function evaluateFolders(predDir: string, gtDir: string, norm: NormKind): Promise<EvaluationResult & { names: string[] }> {
  const preds = await listPts(predDir, "--pred");
  const gts = await listPts(gtDir, "--gt");
  const noPred = [...gts.keys()].filter((n) => !preds.has(n)).sort();
  const noGt = [...preds.keys()].filter((n) => !gts.has(n)).sort();
  if (noPred.length) throw new UsageError(`${noPred.length} GT file(s) in ${gtDir} have no prediction in ${predDir}: ${listSome(noPred)}`);
  if (noGt.length) throw new UsageError(`${noGt.length} prediction(s) in ${predDir} have no GT in ${gtDir}: ${listSome(noGt)}`);
  const names = [...gts.keys()].sort();
  const P: Float32Array[] = [];
  const G: Float32Array[] = [];
  for (const name of names) {
    const p = await readPts(preds.get(name)!);
    const g = await readPts(gts.get(name)!);
    if (p.length !== g.length)
      throw new UsageError(
        `${name}: prediction has ${p.length / 2} points (${preds.get(name)}), GT has ${g.length / 2} (${gts.get(name)})`,
      );
    P.push(p);
    G.push(g);
  }
  // Both sides use the .pts frame (1-based in 300-W); the offset cancels in every error.
  return { ...evaluateShapes(P, G, { norm, labels: names.map((n) => gts.get(n)!) }), names };
}

const f3 = (v: number) => v.toFixed(3);
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

function printText(r: EvaluationResult, norm: NormKind): void {
  const lines = [
    `images       ${r.count}`,
    `norm         ${norm} (errors ×100 of the normaliser)`,
    `NME          ${f3(r.nme)}`,
    `AUC@8        ${r.auc8.toFixed(4)}    FR@8   ${pct(r.fr8)}`,
    `AUC@10       ${r.auc10.toFixed(4)}    FR@10  ${pct(r.fr10)}`,
    "",
    "per-landmark NME:",
  ];
  const names = r.perLandmark.length === IBUG68.count ? IBUG68.names : undefined;
  const cells = r.perLandmark.map((e, i) => `${String(i).padStart(3)} ${(names?.[i] ?? "").padEnd(names ? 24 : 0)}${f3(e).padStart(8)}`);
  const perRow = names ? 3 : 6;
  for (let i = 0; i < cells.length; i += perRow) lines.push("  " + cells.slice(i, i + perRow).join("   "));
  process.stdout.write(lines.join("\n") + "\n");
}

export function register(program: Command): void {
  program
    .command("eval")
    .description("score predicted .pts files against ground-truth .pts files (paired by name): NME, AUC, FR")
    .option("--pred <dir>", "folder of predicted .pts files")
    .option("--gt <dir>", "folder of ground-truth .pts files (iBug68 order for the named normalisations)")
    .option("--norm <kind>", `normalisation: ${NORM_KINDS.join(" | ")}`, "inter-pupil")
    .option("--json", "print one JSON object: nme, auc8, fr8, auc10, fr10, perLandmark, count")
    .option("--per-image", "with --json, add perImage: [{ name, nme }] (each image's NME, by relative .pts name) for paired tests")
    .action(async (opts: EvalOptions) => {
      if (!opts.pred) throw new UsageError("eval: --pred <dir> is required");
      if (!opts.gt) throw new UsageError("eval: --gt <dir> is required");
      if (!(NORM_KINDS as readonly string[]).includes(opts.norm))
        throw new UsageError(`eval: --norm must be one of ${NORM_KINDS.join(", ")}, got "${opts.norm}"`);
      const norm = opts.norm as NormKind;
      if (opts.perImage && !opts.json) throw new UsageError("eval: --per-image needs --json");
      const r = await evaluateFolders(opts.pred, opts.gt, norm);
      if (opts.json) {
        const { nme, auc8, fr8, auc10, fr10, perLandmark, count } = r;
        const perImage = opts.perImage ? { perImage: r.names.map((name, i) => ({ name, nme: r.perImage[i] })) } : {};
        process.stdout.write(JSON.stringify({ nme, auc8, fr8, auc10, fr10, perLandmark, count, ...perImage }) + "\n");
      } else printText(r, norm);
    });
}
