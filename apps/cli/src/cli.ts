#!/usr/bin/env node
/**
 * `lml`: one command line for Landmark Lab. Each subcommand lives in ./commands/<name>.ts and exports
 * `register(program)`; heavy modules (tfjs, the renderer) are imported inside action handlers so that
 * `lml eval` starts fast. `bench` gathers its subcommands from ./commands/bench-<what>.ts.
 */
import { Command, CommanderError } from "commander";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const COMMANDS = ["train", "work", "grid", "eval", "synth", "report"];
const BENCHES = ["synth", "train", "queue", "web"];

type Registrar = { register: (program: Command) => void };

async function load(file: string): Promise<Registrar | null> {
  const path = join(here, "commands", file);
  if (!existsSync(path)) return null;
  return (await import(pathToFileURL(path).href)) as Registrar;
}

async function main() {
  const program = new Command("lml")
    .description("Landmark Lab: dense facial landmarks trained on synthetic faces")
    .showHelpAfterError();
  for (const name of COMMANDS) (await load(`${name}.ts`))?.register(program);
  const bench = program.command("bench").description("measure speed; prints measured numbers");
  for (const name of BENCHES) (await load(`bench-${name}.ts`))?.register(bench);
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
