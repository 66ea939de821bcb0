/**
 * `lml grid submit <spec.yaml> [--force]`, `lml grid status <id|name>`, `lml grid cancel <id|name>`,
 * `lml grid requeue <id|name>`:
 * queue an ablation grid (a W&B-sweep-like YAML/JSON spec, see grids/), watch it, stop it. Workers
 * (`lml work`) drain the queue. A name refers to the newest grid of that name.
 */
import type { Command } from "commander";

export function register(program: Command): void {
  const grid = program.command("grid").description("queue, watch and cancel experiment grids");
  grid
    .command("submit <spec>")
    .description("validate a grid spec (YAML or JSON), expand it and queue one run per cell")
    .option("--force", "queue it even though a grid of the same name exists (nothing is deleted)")
    .option("--json", "print { id, name, runs } as one JSON line")
    .action(async (spec: string, opts: { force?: boolean; json?: boolean }) => {
      await submit(spec, opts);
    });
  grid
    .command("status <grid>")
    .description("a table of the grid's runs: status, progress, attempts (grid = id or name)")
    .option("--json", "print the status as JSON")
    .action(async (ref: string, opts: { json?: boolean }) => {
      await status(ref, opts);
    });
  grid
    .command("cancel <grid>")
    .description("cancel the grid's queued runs and stop its running ones at their next step")
    .action(async (ref: string) => {
      await cancel(ref);
    });
  grid
    .command("requeue <grid>")
    .description("put the grid's FAILED and CANCELED runs back in the queue (they resume from their checkpoints)")
    .action(async (ref: string) => {
      await requeue(ref);
    });
}

/** A grid id or name as typed: refused (exit 2) before any connection when it is not printable text. */
async function checkRef(ref: string): Promise<void> {
  const { nameProblem, UsageError } = await import("@lml/core");
  const problem = nameProblem(ref);
  if (problem) throw new UsageError(`grid reference ${JSON.stringify(ref)} ${problem}`);
}

async function withDb<T>(f: (db: import("@lml/db").Database) => Promise<T>): Promise<T> {
  const { openQueueDatabase } = await import("@lml/training/worker");
  const db = await openQueueDatabase();
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

async function submit(file: string, opts: { force?: boolean; json?: boolean }): Promise<void> {
  const { readFile } = await import("node:fs/promises");
  const { basename } = await import("node:path");
  const { checkDataPaths, datasetRoots, expandGrid, parseGridSpec, UsageError } = await import("@lml/core");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`${file}: cannot read the spec (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  // Validated before touching the database: a typo never needs one to be reported.
  const name = basename(file);
  const spec = parseGridSpec(text, name);
  const cells = expandGrid(spec, name);
  // Data paths must lie inside the dataset roots (issue 16.1), as the dashboard's submit checks them.
  const roots = datasetRoots();
  cells.forEach((cell, i) => checkDataPaths(cell.config, roots, `${name}: cell ${i}`));
  const { submitGrid } = await import("@lml/db");
  const grid = await withDb((db) => submitGrid(db.prisma, spec, text, { cells, force: opts.force }));
  if (opts.json) {
    process.stdout.write(JSON.stringify(grid) + "\n");
    return;
  }
  process.stdout.write(`grid ${grid.id} "${grid.name}": ${grid.runs} run${grid.runs === 1 ? "" : "s"} queued\n`);
}

/** Runs `requeueExpired` took back, limited to one grid's runs. */
function tookBackIn(swept: import("@lml/db").RequeueResult, runIds: Set<string>) {
  const mine = (ids: string[]) => ids.filter((id) => runIds.has(id));
  return { requeued: mine(swept.requeued), failed: mine(swept.failed), canceled: mine(swept.canceled) };
}

/** A worker that heart-beat within this long counts as running (a worker heart-beats every ≤ 5 s). */
const LIVE_WORKER_MS = 60_000;

async function status(ref: string, opts: { json?: boolean }): Promise<void> {
  await checkRef(ref);
  const { gridStatus, heldLeases, liveWorkerCount, requeueExpired } = await import("@lml/db");
  const r = await withDb(async (db) => {
    // A run whose worker died stays RUNNING until someone sweeps: looking at the grid is such a moment.
    const swept = await requeueExpired(db.prisma);
    const s = await gridStatus(db.prisma, ref);
    const tookBack = tookBackIn(swept, new Set(s.runs.map((run) => run.id)));
    const leases = await heldLeases(db.prisma, s.grid.id);
    const liveWorkers = await liveWorkerCount(db.prisma, LIVE_WORKER_MS);
    return { ...s, tookBack, leases, liveWorkers, hints: gridHints(s, tookBack, liveWorkers) };
  });
  if (opts.json) {
    process.stdout.write(JSON.stringify(r) + "\n");
    return;
  }
  process.stdout.write(formatGridStatus(r, r.leases) + (r.hints.length ? "\n\n" + r.hints.map((h) => `hint: ${h}`).join("\n") : "") + "\n");
}

/** What an operator should know beyond the table: runs just taken back, queued runs nobody works on. */
export function gridHints(s: import("@lml/db").GridStatus, tookBack: ReturnType<typeof tookBackIn>, liveWorkers: number): string[] {
  const hints: string[] = [];
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const back = tookBack.requeued.length + tookBack.failed.length + tookBack.canceled.length;
  if (back > 0)
    hints.push(
      `${plural(back, "run")} held by a worker whose lease had expired (it died, was killed or cut off) ` +
        `taken back just now: ${tookBack.requeued.length} queued again (they resume from their checkpoints), ` +
        `${tookBack.failed.length} failed (attempts used up), ${tookBack.canceled.length} canceled (a cancel was pending)`,
    );
  if (s.counts.QUEUED > 0 && liveWorkers === 0)
    hints.push(
      `${plural(s.counts.QUEUED, "queued run")} and no worker heart-beat in the last ${LIVE_WORKER_MS / 1000} s: ` +
        "start one with `npm run -s lml -- work` (or `npm start`)",
    );
  return hints;
}

async function requeue(ref: string): Promise<void> {
  await checkRef(ref);
  const { requeueExpired, requeueRun, resolveGrid } = await import("@lml/db");
  const r = await withDb(async (db) => {
    const grid = await resolveGrid(db.prisma, ref);
    // Expired leases first: a dead worker's run is queued again (or FAILED, then requeued below).
    const swept = await requeueExpired(db.prisma);
    const runs = await db.prisma.run.findMany({ where: { gridId: grid.id }, select: { id: true, status: true } });
    const tookBack = tookBackIn(swept, new Set(runs.map((run) => run.id))).requeued.length;
    let requeued = 0;
    for (const run of runs) if ((run.status === "FAILED" || run.status === "CANCELED") && (await requeueRun(db.prisma, run.id))) requeued++;
    return { gridId: grid.id, requeued, tookBack };
  });
  if (r.tookBack > 0)
    process.stdout.write(
      `grid ${r.gridId}: queued again ${r.tookBack} run${r.tookBack === 1 ? "" : "s"} whose worker's lease had expired\n`,
    );
  process.stdout.write(`grid ${r.gridId}: requeued ${r.requeued} failed or canceled run${r.requeued === 1 ? "" : "s"}\n`);
}

async function cancel(ref: string): Promise<void> {
  await checkRef(ref);
  const { cancelGrid } = await import("@lml/db");
  const r = await withDb((db) => cancelGrid(db.prisma, ref));
  process.stdout.write(
    `grid ${r.gridId}: canceled ${r.canceled} queued run${r.canceled === 1 ? "" : "s"}; ` +
      `asked ${r.requested} running run${r.requested === 1 ? "" : "s"} to stop at the next step\n`,
  );
}

/**
 * The `grid status` table: one line per run in queue order, then the counts per status. A running
 * run shows its worker and, given the leases, when its lease runs out (a lease that keeps nearing zero
 * belongs to a worker that stopped heart-beating).
 */
export function formatGridStatus(s: import("@lml/db").GridStatus, leases: import("@lml/db").HeldLease[] = []): string {
  const head = ["run", "status", "progress", "step", "attempt", "worker / error"];
  const expiry = new Map(leases.map((l) => [l.id, l.expiresInMs]));
  const leaseNote = (id: string) => {
    const ms = expiry.get(id);
    if (ms === undefined) return "";
    return ms >= 0 ? ` (lease ${Math.ceil(ms / 1000)} s)` : ` (lease expired ${Math.ceil(-ms / 1000)} s ago)`;
  };
  const rows = s.runs.map((r) => {
    const note =
      r.status === "RUNNING" ? (r.leaseOwner ?? "") + leaseNote(r.id) + (r.cancelRequested ? " (cancel requested)" : "") : (r.error ?? "");
    return [
      r.name,
      r.status,
      `${(100 * r.progress).toFixed(0)}%`,
      r.totalSteps ? `${r.step}/${r.totalSteps}` : String(r.step),
      `${r.attempts}/${r.maxAttempts}`,
      note.length > 80 ? note.slice(0, 79) + "…" : note,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const counts = Object.entries(s.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k.toLowerCase()}`)
    .join(", ");
  return [
    `grid ${s.grid.id} "${s.grid.name}" (submitted ${s.grid.createdAt.toISOString()}): ${s.runs.length} runs — ${counts}`,
    "",
    line(head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
  ].join("\n");
}
