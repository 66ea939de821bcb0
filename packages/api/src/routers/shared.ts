/** Input pieces and summaries shared by the domain routers. */
import { z } from "zod";
import { ACTIVE_STATUSES, RUN_STATUSES, TERMINAL_STATUSES, type RunStatusName } from "@lml/core";
import type { StatusCounts } from "@lml/db";

export { RUN_STATUSES, type RunStatusName, type StatusCounts };

export const idInput = z.object({ id: z.uuid() }).strict();

/** Page numbers start at 1; pages are at most 200 rows so that one request stays small. */
export const pageInput = {
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(1).max(200).default(25),
};

export interface ProgressSummary {
  counts: StatusCounts;
  total: number;
  /** Fraction of the grid's work done in [0, 1]: finished runs count 1, running ones their progress. */
  progress: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  elapsedMs: number | null;
  /** Remaining time at the rate observed so far; null before any progress or when nothing is left. */
  etaMs: number | null;
}

/**
 * Progress, elapsed time and ETA of a set of runs from their status counts, the summed progress of the
 * running ones and the first start / last finish.
 */
export function summarise(
  counts: StatusCounts,
  runningProgress: number,
  startedAt: Date | null,
  finishedAt: Date | null,
  now = new Date(),
): ProgressSummary {
  const total = RUN_STATUSES.reduce((s, k) => s + counts[k], 0);
  const terminal = TERMINAL_STATUSES.reduce((s, k) => s + counts[k], 0);
  const done = terminal + runningProgress;
  const progress = total ? Math.min(1, done / total) : 0;
  const active = ACTIVE_STATUSES.some((k) => counts[k] > 0);
  const end = active ? now : (finishedAt ?? now);
  const elapsedMs = startedAt ? Math.max(0, end.getTime() - startedAt.getTime()) : null;
  const etaMs = active && elapsedMs && done > 0 ? ((total - done) * elapsedMs) / done : null;
  return { counts, total, progress, startedAt, finishedAt: active ? null : finishedAt, elapsedMs, etaMs };
}
