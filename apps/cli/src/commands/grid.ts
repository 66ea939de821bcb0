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

async function status(ref: string, opts: { json?: boolean }): Promise<void> {
  const { gridStatus } = await import("@lml/db");
  const s = await withDb((db) => gridStatus(db.prisma, ref));
  if (opts.json) {
    process.stdout.write(JSON.stringify(s) + "\n");
    return;
  }
  process.stdout.write(formatGridStatus(s) + "\n");
}

async function requeue(ref: string): Promise<void> {
  const { requeueRun, resolveGrid } = await import("@lml/db");
  const r = await withDb(async (db) => {
    const grid = await resolveGrid(db.prisma, ref);
    const runs = await db.prisma.run.findMany({ where: { gridId: grid.id, status: { in: ["FAILED", "CANCELED"] } }, select: { id: true } });
    let requeued = 0;
    for (const run of runs) if (await requeueRun(db.prisma, run.id)) requeued++;
    return { gridId: grid.id, requeued };
  });
  process.stdout.write(`grid ${r.gridId}: requeued ${r.requeued} failed or canceled run${r.requeued === 1 ? "" : "s"}\n`);
}

async function cancel(ref: string): Promise<void> {
  const { cancelGrid } = await import("@lml/db");
  const r = await withDb((db) => cancelGrid(db.prisma, ref));
  process.stdout.write(
    `grid ${r.gridId}: canceled ${r.canceled} queued run${r.canceled === 1 ? "" : "s"}; ` +
      `asked ${r.requested} running run${r.requested === 1 ? "" : "s"} to stop at the next step\n`,
  );
}

/** The `grid status` table: one line per run in queue order, then the counts per status. */
export function formatGridStatus(s: import("@lml/db").GridStatus): string {
  const head = ["run", "status", "progress", "step", "attempt", "worker / error"];
  const rows = s.runs.map((r) => {
    const note = r.status === "RUNNING" ? (r.leaseOwner ?? "") + (r.cancelRequested ? " (cancel requested)" : "") : (r.error ?? "");
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
