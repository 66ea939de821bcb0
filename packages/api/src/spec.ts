/**
 * Grid specs on the server: the preview the New-grid page shows (same parser and expansion as the CLI,
 * so a spec that previews fine is one `lml grid submit` accepts) and the queue calls behind the mutations.
 */
import { expandGrid, parseGridSpec } from "@lml/core";
import * as db from "@lml/db";

export interface PreviewRun {
  name: string;
  regime: string;
  seed: number;
  config: unknown;
}
export type SpecPreview =
  | { ok: true; name: string; runs: PreviewRun[]; spec: unknown }
  | { ok: false; error: string };

export function previewSpec(text: string, fileName: string): SpecPreview {
  try {
    const spec = parseGridSpec(text, fileName);
    const runs = expandGrid(spec).map((r: PreviewRun) => ({ name: r.name, regime: r.regime, seed: r.seed, config: r.config }));
    return { ok: true, name: (spec as { name: string }).name, runs, spec };
  } catch (err) {
    // UsageError messages name the file and field path; anything else is reported as is.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export const queue = {
  submitGrid: (prisma: db.PrismaClient, text: string, fileName: string) => db.submitGrid(prisma, text, fileName),
  cancelGrid: (prisma: db.PrismaClient, gridId: string) => db.cancelGrid(prisma, gridId),
  cancelRun: (prisma: db.PrismaClient, runId: string) => db.cancelRun(prisma, runId),
  requeueRun: (prisma: db.PrismaClient, runId: string) => db.requeueRun(prisma, runId),
};
