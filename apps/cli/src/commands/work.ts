/**
 * `lml work [--max-runs N] [--idle-exit]`: a queue worker. Claims the highest-priority oldest queued
 * run, trains it (progress, metric points and checkpoints go to the database), writes its results, and
 * takes the next. SIGTERM/SIGINT: finish the current step, checkpoint, give the run back to the queue,
 * exit 0 (a second Ctrl-C exits at once). The worker process is @lml/training/worker's, the same one the
 * deployable worker app (apps/trainer) runs. Rules and deployment notes: apps/trainer/WORKERS.md.
 */
import type { Command } from "commander";
import type { WorkerFlags } from "@lml/training/worker";

export function register(program: Command): void {
  program
    .command("work")
    .description("claim queued runs and train them until stopped (SIGTERM/SIGINT gives the current run back)")
    .option("--max-runs <n>", "stop after this many runs")
    .option("--idle-exit", "exit when the queue is empty instead of waiting for work")
    .option("--lease <seconds>", "lease length: a dead worker's run is taken back this long after its last heartbeat", "60")
    .option("--worker-id <id>", "name shown on runs and in the workers table (default host-pid-random)")
    .action(async (flags: WorkerFlags) => {
      const { parseWorkerFlags, runWorkerProcess } = await import("@lml/training/worker");
      await runWorkerProcess(parseWorkerFlags(flags));
    });
}
