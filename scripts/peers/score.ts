/**
 * Scores a folder of predicted .pts files with the project's own evaluator, spawned exactly as a user
 * would (`npm run -s lml -- eval … --json --per-image`), so peer rows use the same NME code as our runs.
 */
import { spawnSync } from "node:child_process";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PEER_NORMS, PeerMetricsSchema, type PeerMetrics, type PeerNorm } from "@lml/api/reference";
import { UsageError } from "@lml/core";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `lml eval --json --per-image` output (the fields a peer row keeps). */
interface EvalOutput extends PeerMetrics {
  count: number;
  perImage: { name: string; nme: number }[];
}

export function evaluatorCommand(predDir: string, gtDir: string, norm: PeerNorm): string[] {
  return ["npm", "run", "-s", "lml", "--", "eval", "--pred", predDir, "--gt", gtDir, "--norm", norm, "--json", "--per-image"];
}

export interface Scores {
  n: number;
  metrics: Record<PeerNorm, PeerMetrics>;
  /** Per image (sorted by name, as the evaluator pairs them): NME under each normalisation. */
  perImage: { name: string; nme: Record<PeerNorm, number> }[];
}

function evaluate(predDir: string, gtDir: string, norm: PeerNorm): EvalOutput {
  const [cmd, ...args] = evaluatorCommand(predDir, gtDir, norm);
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0)
    throw new UsageError(
      `${evaluatorCommand(predDir, gtDir, norm).join(" ")} failed (exit ${r.status}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  const out = JSON.parse(r.stdout);
  // The aggregates by the row's own schema; the per-image list must name every counted image once.
  const metrics = PeerMetricsSchema.safeParse(out);
  const perImage: unknown = out.perImage;
  const listed =
    Array.isArray(perImage) &&
    perImage.length === out.count &&
    perImage.every((p) => typeof p?.name === "string" && typeof p?.nme === "number" && Number.isFinite(p.nme));
  if (!metrics.success || !listed)
    throw new Error(`lml eval printed an unexpected JSON object (${metrics.error?.message ?? "perImage does not list count images"})`);
  return { ...metrics.data, count: out.count, perImage: perImage as EvalOutput["perImage"] };
}

/** Both normalisations of one predictions folder against the GT folder. */
export function scorePredictions(predDir: string, gtDir: string): Scores {
  const byNorm = Object.fromEntries(PEER_NORMS.map((norm) => [norm, evaluate(predDir, gtDir, norm)])) as Record<PeerNorm, EvalOutput>;
  const [first, ...rest] = PEER_NORMS;
  const names = byNorm[first].perImage.map((p) => p.name);
  for (const norm of rest)
    if (byNorm[norm].perImage.map((p) => p.name).join("\n") !== names.join("\n"))
      throw new Error(`lml eval paired different images under ${first} and ${norm}`);
  const metrics = Object.fromEntries(
    PEER_NORMS.map((norm) => {
      const { nme, auc8, fr8, auc10, fr10 } = byNorm[norm];
      return [norm, { nme, auc8, fr8, auc10, fr10 }];
    }),
  ) as Record<PeerNorm, PeerMetrics>;
  const perImage = names.map((name, i) => ({
    name,
    nme: Object.fromEntries(PEER_NORMS.map((norm) => [norm, byNorm[norm].perImage[i].nme])) as Record<PeerNorm, number>,
  }));
  return { n: names.length, metrics, perImage };
}

/** A path as the stored file records it: relative to the repository root (e.g. ../shared/datasets/300w128). */
export function shownPath(path: string): string {
  return relative(repoRoot, resolve(path)) || ".";
}

export const evaluatorDescription = `${evaluatorCommand("<predictions>", "<dataset>/common", "inter-pupil").join(" ")} (and --norm inter-ocular)`;
