/** `lml bench synth`: measured faces/second of the synthetic generator at 64² and 128² with 490 points. */
import type { Command } from "commander";
import { UsageError } from "@lml/core";

export function register(bench: Command): void {
  bench
    .command("synth")
    .description("measure the face generator's speed (faces/second at 64² and 128², 490 points)")
    .option("--json", "print one JSON line")
    .option("--seconds <s>", "seconds to measure per size", "3")
    .option("--points <n>", "landmark count", "490")
    .action(async (o: { json?: boolean; seconds: string; points: string }) => {
      const seconds = Number(o.seconds),
        points = Number(o.points);
      if (!(seconds > 0)) throw new UsageError(`--seconds: expected a positive number, got "${o.seconds}"`);
      if (!Number.isInteger(points)) throw new UsageError(`--points: expected an integer, got "${o.points}"`);
      const { benchSynth } = await import("@lml/synth/bench");
      const r = benchSynth({ seconds, points });
      if (o.json) process.stdout.write(JSON.stringify(r) + "\n");
      else {
        process.stdout.write(
          `synth generator ${r.generatorVersion}, ${r.points} points, setup ${r.setupMs} ms (${r.setupFrom}), load ${r.loadavg1}\n`,
        );
        for (const s of r.sizes)
          process.stdout.write(`  ${s.size}²: ${s.wallFacesPerSec} faces/s (wall), ${s.cpuFacesPerSec} faces per CPU-second\n`);
      }
    });
}
