#!/usr/bin/env node
/**
 * The worker you deploy: one process that claims queued runs from the database (DATABASE_URL) and
 * trains them until stopped, the same worker loop as `lml work` (@lml/training/worker). Start one per
 * core, GPU or machine; rules and deployment notes in ../WORKERS.md.
 *
 *   node --import tsx apps/trainer/src/main.ts [--max-runs N] [--idle-exit] [--lease S] [--worker-id ID]
 */
import { parseArgs } from "node:util";
import { parseWorkerFlags, runWorkerProcess } from "@lml/training/worker";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "max-runs": { type: "string" },
      "idle-exit": { type: "boolean" },
      lease: { type: "string" },
      "worker-id": { type: "string" },
    },
    strict: true,
  });
  await runWorkerProcess(
    parseWorkerFlags({ maxRuns: values["max-runs"], idleExit: values["idle-exit"], lease: values.lease, workerId: values["worker-id"] }),
  );
}

main().catch((err: unknown) => {
  // Bad input (a UsageError, or an unknown flag) exits 2 with its message alone; anything else shows the stack.
  const e = err as { exitCode?: number; code?: string; message?: string; stack?: string };
  if (typeof e?.exitCode === "number" || e?.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    process.stderr.write(`lml worker: ${e.message}\n`);
    process.exit(e.exitCode ?? 2);
  }
  process.stderr.write(`lml worker: ${e?.stack ?? String(err)}\n`);
  process.exit(1);
});
