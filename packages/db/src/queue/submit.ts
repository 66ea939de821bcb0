/** Submitting grids, and reading a grid's runs back by id or name (`lml grid submit/status`, the dashboard). */
import {
  expandGrid,
  MAX_GRID_RUNS,
  nameProblem,
  parseRunConfig,
  RUN_STATUSES,
  UsageError,
  type GridSpec,
  type RunStatusName,
} from "@lml/core";
import type { Prisma, Run } from "../generated/prisma/client";
import type { Db } from "./run-row";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One cell of a grid: what becomes one Run. @lml/core's GridCell fits. The config is parsed again
 * here (core's RunConfigSchema, cross-field rules included), and the run's regime and seed columns are
 * taken from the parsed config: they are never given separately, so they cannot disagree with it.
 */
export interface QueueCell {
  name: string;
  config: unknown;
}

export interface SubmitGridOptions {
  /** Queue another grid even when one of the same name exists (nothing is deleted). */
  force?: boolean;
  /** Higher runs first; default: the spec's priority, else 0. */
  priority?: number;
  /** Attempts before a run whose worker keeps dying is FAILED; default: the spec's, else 3. */
  maxAttempts?: number;
  /** The expanded cells; default `expandGrid(spec)` (@lml/core), which needs a full GridSpec. */
  cells?: QueueCell[];
}

/** A GridSpec from @lml/core, or just a name when the caller passes the cells. */
export type SubmittableSpec = Pick<GridSpec, "name"> & Partial<Pick<GridSpec, "priority" | "maxAttempts">>;

export interface SubmittedGrid {
  id: string;
  name: string;
  runs: number;
}

/**
 * Stores a grid and queues one Run per cell, in one transaction. Every cell's config must pass
 * RunConfigSchema (a UsageError names the cell and the field otherwise, and nothing is written). A grid
 * of the same name already queued is an error asking for `--force` (resubmitting by accident must not
 * silently double the work); with force a new grid of that name is added and the old one is left as it is.
 */
export async function submitGrid(
  prisma: Db,
  spec: SubmittableSpec,
  specText: string | null,
  options: SubmitGridOptions = {},
): Promise<SubmittedGrid> {
  const cells = options.cells ?? expandGrid(spec as GridSpec);
  const priority = options.priority ?? spec.priority ?? 0;
  const maxAttempts = options.maxAttempts ?? spec.maxAttempts ?? 3;
  assertName(spec.name, "grid name");
  if (cells.length === 0) throw new UsageError(`grid "${spec.name}": the spec expands to no runs`);
  if (cells.length > MAX_GRID_RUNS)
    throw new UsageError(
      `grid "${spec.name}": ${cells.length} runs, more than the ${MAX_GRID_RUNS} one grid may hold; split it into several grids`,
    );
  // Run names identify cells on the dashboard and in exports, so they must be unique per grid.
  const seen = new Map<string, number>();
  cells.forEach((cell, i) => {
    assertName(cell.name, `grid "${spec.name}": run ${i}: name`);
    const first = seen.get(cell.name);
    if (first !== undefined) throw new UsageError(`grid "${spec.name}": run ${i}: duplicate run name "${cell.name}" (run ${first} has it)`);
    seen.set(cell.name, i);
  });
  const configs = cells.map((cell) => parseRunConfig(cell.config, `grid "${spec.name}": run "${cell.name}": config`));
  return prisma.$transaction(async (tx) => {
    // Two concurrent submissions of one name must not both pass the check below.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${"lml-grid:" + spec.name}))`;
    const existing = await tx.grid.findFirst({
      where: { name: spec.name },
      orderBy: { createdAt: "desc" },
      include: { _count: { select: { runs: true } } },
    });
    if (existing && !options.force)
      throw new UsageError(
        `a grid named "${spec.name}" already exists (id ${existing.id}, ${existing._count.runs} runs, ` +
          `submitted ${existing.createdAt.toISOString()}); resubmit with --force to queue another copy`,
      );
    const grid = await tx.grid.create({
      data: { name: spec.name, spec: spec as Prisma.InputJsonValue, specText },
    });
    // Runs are claimed oldest first: one millisecond apart keeps the spec's order as the queue order.
    const base = Date.now();
    await tx.run.createMany({
      data: cells.map((cell, i) => ({
        gridId: grid.id,
        name: cell.name,
        regime: configs[i].regime,
        seed: configs[i].seed,
        config: configs[i] as Prisma.InputJsonValue,
        priority,
        maxAttempts,
        createdAt: new Date(base + i),
      })),
    });
    return { id: grid.id, name: grid.name, runs: cells.length };
  });
}

/**
 * Names go to terminals, tables and the database: printable text only (core's nameProblem), refused
 * as a UsageError naming `what` and showing the name JSON-escaped.
 */
function assertName(name: string, what: string): void {
  const problem = nameProblem(name);
  if (problem) throw new UsageError(`${what} ${JSON.stringify(name)} ${problem}`);
}

/**
 * A grid by id, or the newest grid of that name; UsageError when there is none. A name shaped like a
 * UUID is looked up as an id first, then as a name.
 */
export async function resolveGrid(prisma: Db, ref: string): Promise<{ id: string; name: string; createdAt: Date }> {
  // Checked before the query: PostgreSQL refuses NUL bytes and lone surrogates with an error, not "no such grid".
  assertName(ref, "grid reference");
  const select = { id: true, name: true, createdAt: true } as const;
  const grid =
    (UUID_RE.test(ref) ? await prisma.grid.findUnique({ where: { id: ref }, select }) : null) ??
    (await prisma.grid.findFirst({ where: { name: ref }, orderBy: { createdAt: "desc" }, select }));
  if (!grid) throw new UsageError(`no grid with id or name ${JSON.stringify(ref)}`);
  return grid;
}

/** The columns `lml grid status` shows per run. */
const RUN_STATUS_COLUMNS = {
  id: true,
  name: true,
  regime: true,
  seed: true,
  status: true,
  progress: true,
  step: true,
  totalSteps: true,
  attempts: true,
  maxAttempts: true,
  leaseOwner: true,
  cancelRequested: true,
  error: true,
  startedAt: true,
  finishedAt: true,
} as const satisfies Partial<Record<keyof Run, true>>;

export type GridRunStatus = Pick<Run, keyof typeof RUN_STATUS_COLUMNS>;

export interface GridStatus {
  grid: { id: string; name: string; createdAt: Date };
  counts: Record<RunStatusName, number>;
  runs: GridRunStatus[];
}

/** Every run of a grid (queue order) with its status and progress, and counts per status. */
export async function gridStatus(prisma: Db, ref: string): Promise<GridStatus> {
  const grid = await resolveGrid(prisma, ref);
  const runs = await prisma.run.findMany({
    where: { gridId: grid.id },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    select: RUN_STATUS_COLUMNS,
  });
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatusName, number>;
  for (const run of runs) counts[run.status]++;
  return { grid, counts, runs };
}
