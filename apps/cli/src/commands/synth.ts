/** `lml synth preview`: a contact sheet of generated faces with their landmarks (see packages/synth). */
import type { Command } from "commander";
import { UsageError } from "@lml/core";

export function register(program: Command): void {
  const synth = program.command("synth").description("the synthetic face generator");
  synth
    .command("preview")
    .description("write a contact sheet of rendered faces with landmarks drawn (coloured by group)")
    .option("--scheme <n>", "landmark count for the synthetic domain (68, 243, 490, 1001, …)", "68")
    .option("--domain <d>", "synthetic | proxy-real (proxy-real is SIMULATED, not real photos)", "synthetic")
    .option("--split <s>", "train | test | common | challenging", "train")
    .option("--count <n>", "number of faces", "16")
    .option("--seed <n>", "seed", "1")
    .option("--size <px>", "rendered image side (64–256)", "128")
    .option("--gray", "render grayscale")
    .option("--no-labels", "draw no landmarks")
    .requiredOption("--out <file>", "PNG file to write")
    .action(async (o: { scheme: string; domain: string; split: string; count: string; seed: string; size: string; gray?: boolean; labels: boolean; out: string }) => {
      const { contactSheet } = await import("@lml/synth/preview");
      const int = (name: string, v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n)) throw new UsageError(`--${name}: expected an integer, got "${v}"`);
        return n;
      };
      if (o.domain !== "synthetic" && o.domain !== "proxy-real") throw new UsageError(`--domain: expected synthetic or proxy-real, got "${o.domain}"`);
      if (!["train", "test", "common", "challenging"].includes(o.split)) throw new UsageError(`--split: expected train, test, common or challenging, got "${o.split}"`);
      const count = int("count", o.count);
      if (count < 1 || count > 256) throw new UsageError(`--count: expected 1…256, got ${count}`);
      const png = await contactSheet({
        domain: o.domain, split: o.split as "train", scheme: int("scheme", o.scheme), count, seed: int("seed", o.seed),
        size: int("size", o.size), channels: o.gray ? 1 : 3, labels: o.labels,
      });
      const { writeFile } = await import("node:fs/promises");
      await writeFile(o.out, png);
      process.stdout.write(`wrote ${o.out} (${count} ${o.domain === "proxy-real" ? "SIMULATED proxy-real" : "synthetic"} faces, ${o.split})\n`);
    });
}
