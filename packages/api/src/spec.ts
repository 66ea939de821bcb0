/**
 * Grid specs on the server: the preview the New-grid page shows (core's parser and expansion, as the
 * CLI uses, so a spec that previews fine is one `lml grid submit` accepts) and the queue calls behind
 * the mutations.
 */
import { TRPCError } from "@trpc/server";
import { checkDataPaths, datasetRoots, expandGrid, parseGridSpec, UsageError, type GridCell, type GridSpec } from "@lml/core";
import * as db from "@lml/db";
import { SPEC_EXPANSION_BUDGET_MS } from "./request-limits";

export type PreviewRun = GridCell;
export type SpecPreview = { ok: true; name: string; runs: GridCell[]; spec: GridSpec } | { ok: false; error: string };

/**
 * Never throws on bad input: the error names the file, line or field path (UsageError's message). Every
 * cell's data paths must lie inside this server's dataset roots (core datasets.ts; issue 16.1), so a
 * spec that reads outside them is refused here, at preview and at submit, before anything is queued.
 */
export function previewSpec(text: string, fileName: string): SpecPreview {
  try {
    const spec = parseGridSpec(text, fileName);
    // Bounded: at most MAX_GRID_RUNS cells (core), and this long on the request thread.
    const runs = expandGrid(spec, fileName, { budgetMs: SPEC_EXPANSION_BUDGET_MS });
    const roots = datasetRoots();
    runs.forEach((cell, i) => checkDataPaths(cell.config, roots, `${fileName}: cell ${i}`));
    return { ok: true, name: spec.name, runs, spec };
  } catch (err) {
    if (err instanceof UsageError) return { ok: false, error: err.message };
    throw err;
  }
}

/** The queue's calls (packages/db/src/queue.ts) with bad input turned into a 400 carrying its message. */
async function usage<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof UsageError) throw new TRPCError({ code: "BAD_REQUEST", message: err.message, cause: err });
    throw err;
  }
}

export const queue = {
  submitGrid: (prisma: db.PrismaClient, preview: Extract<SpecPreview, { ok: true }>, text: string, force: boolean) =>
    usage(() =>
      db.submitGrid(prisma, preview.spec, text, {
        cells: preview.runs,
        force,
        priority: preview.spec.priority,
        maxAttempts: preview.spec.maxAttempts,
      }),
    ),
  cancelGrid: (prisma: db.PrismaClient, gridId: string) => usage(() => db.cancelGrid(prisma, gridId)),
  cancelRun: (prisma: db.PrismaClient, runId: string) => usage(() => db.cancelRun(prisma, runId)),
  requeueRun: (prisma: db.PrismaClient, runId: string) => usage(() => db.requeueRun(prisma, runId)),
};
