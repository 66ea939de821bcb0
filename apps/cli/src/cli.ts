#!/usr/bin/env node
/**
 * `lml`: one command line for Landmark Lab (`npm run -s lml -- …`). Each subcommand lives in
 * ./commands/<name>.ts and exports `register(program)`; each is thin: it parses its flags and calls a
 * package (@lml/training, @lml/api, @lml/db, @lml/synth, @lml/core). Heavy modules (tfjs, the renderer)
 * are imported inside action handlers so that `lml eval` starts fast. `bench` gathers
 * ./commands/bench-<what>.ts.
 */
import { Command, CommanderError } from "commander";
import * as benchChaos from "./commands/bench-chaos";
import * as benchQueue from "./commands/bench-queue";
import * as benchSynth from "./commands/bench-synth";
import * as benchTrain from "./commands/bench-train";
import * as benchWeb from "./commands/bench-web";
import * as datasets from "./commands/datasets";
import * as evalCommand from "./commands/eval";
import * as grid from "./commands/grid";
import * as predict from "./commands/predict";
import * as report from "./commands/report";
import * as synth from "./commands/synth";
import * as train from "./commands/train";
import * as work from "./commands/work";

/** In the order `lml --help` lists them. */
const COMMANDS = [train, work, grid, evalCommand, predict, datasets, synth, report];
const BENCHES = [benchSynth, benchTrain, benchQueue, benchChaos, benchWeb];

async function main() {
  const program = new Command("lml").description("Landmark Lab: dense facial landmarks trained on synthetic faces").showHelpAfterError();
  for (const command of COMMANDS) command.register(program);
  const bench = program.command("bench").description("measure speed; prints measured numbers");
  for (const command of BENCHES) command.register(bench);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // A UsageError (bad input) exits 2 with its message alone; anything else is a bug: show the stack.
  const e = err as { exitCode?: number; message?: string; stack?: string };
  if (typeof e?.exitCode === "number") {
    process.stderr.write(`lml: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`lml: ${e?.stack ?? String(err)}\n`);
  process.exit(1);
});
