/**
 * `lml synth preview` (a contact sheet of faces with their landmarks) and `lml synth stats` (realism
 * statistics per domain); see packages/synth.
 */
import type { Command } from "commander";
import { UsageError } from "@lml/core";

export function register(program: Command): void {
  const synth = program.command("synth").description("the synthetic face generator");
  synth
    .command("preview")
    .description("write a contact sheet of rendered faces with landmarks drawn (coloured by group)")
    .option("--scheme <n>", "landmark count for the synthetic domain (68, 243, 490, 1001, …)", "68")
    .option("--domain <d>", "synthetic | proxy-real (SIMULATED, not real photos) | 300w (real crops from --dir, same layout)", "synthetic")
    .option("--split <s>", "train | test | common | challenging (300w: the sub-folder of --dir)", "train")
    .option("--dir <folder>", "300w: the dataset folder (default ../shared/datasets/300w128)")
    .option("--face-model <m>", "auto | sfm | procedural", "auto")
    .option("--count <n>", "number of faces", "16")
    .option("--seed <n>", "seed", "1")
    .option("--size <px>", "rendered image side (64–256)", "128")
    .option("--gray", "render grayscale")
    .option("--no-labels", "draw no landmarks")
    .requiredOption("--out <file>", "PNG file to write")
    .action(
      async (o: {
        scheme: string;
        domain: string;
        split: string;
        count: string;
        seed: string;
        size: string;
        gray?: boolean;
        labels: boolean;
        out: string;
        dir?: string;
        faceModel: string;
      }) => {
        const { contactSheet } = await import("@lml/synth/preview");
        const int = (name: string, v: string) => {
          const n = Number(v);
          if (!Number.isInteger(n)) throw new UsageError(`--${name}: expected an integer, got "${v}"`);
          return n;
        };
        if (!["synthetic", "proxy-real", "300w"].includes(o.domain))
          throw new UsageError(`--domain: expected synthetic, proxy-real or 300w, got "${o.domain}"`);
        if (o.domain !== "300w" && !["train", "test", "common", "challenging"].includes(o.split))
          throw new UsageError(`--split: expected train, test, common or challenging, got "${o.split}"`);
        const { parseFaceModelChoice } = await import("@lml/synth/face-model");
        const count = int("count", o.count);
        if (count < 1 || count > 256) throw new UsageError(`--count: expected 1…256, got ${count}`);
        const png = await contactSheet({
          domain: o.domain as "synthetic",
          split: o.split,
          scheme: int("scheme", o.scheme),
          count,
          seed: int("seed", o.seed),
          size: int("size", o.size),
          channels: o.gray ? 1 : 3,
          labels: o.labels,
          dir: o.dir,
          faceModel: parseFaceModelChoice(o.faceModel, "--face-model"),
        });
        const { writeFile } = await import("node:fs/promises");
        await writeFile(o.out, png);
        process.stdout.write(
          `wrote ${o.out} (${count} ${o.domain === "proxy-real" ? "SIMULATED proxy-real" : o.domain === "300w" ? "real 300-W" : "synthetic"} faces, ${o.split})\n`,
        );
      },
    );
  synth
    .command("stats")
    .description("realism statistics of a domain: framing, inter-pupil distance, colour/contrast histograms, pose (from landmarks)")
    .requiredOption("--domain <d>", "synthetic | proxy-real | 300w")
    .option("--split <s>", "train | test | common | challenging (300w: the sub-folder of --dir)", "train")
    .option("--count <n>", "faces to measure", "200")
    .option("--size <px>", "image side", "128")
    .option("--seed <n>", "seed (generated domains)", "1")
    .option("--dir <folder>", "300w: the dataset folder (default ../shared/datasets/300w128)")
    .option("--face-model <m>", "auto | sfm | procedural", "auto")
    .option("--json", "print one JSON line")
    .action(
      async (o: {
        domain: string;
        split: string;
        count: string;
        size: string;
        seed: string;
        dir?: string;
        faceModel: string;
        json?: boolean;
      }) => {
        const { domainStats, formatStats, STATS_DOMAINS } = await import("@lml/synth/stats");
        const { parseFaceModelChoice } = await import("@lml/synth/face-model");
        if (!(STATS_DOMAINS as readonly string[]).includes(o.domain))
          throw new UsageError(`--domain: expected synthetic, proxy-real or 300w, got "${o.domain}"`);
        const int = (name: string, v: string, lo: number, hi: number) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name}: expected an integer ${lo}…${hi}, got "${v}"`);
          return n;
        };
        const s = await domainStats({
          domain: o.domain as "300w",
          split: o.split,
          count: int("count", o.count, 1, 100000),
          size: int("size", o.size, 32, 512),
          seed: int("seed", o.seed, 0, 2 ** 31),
          dir: o.dir,
          faceModel: parseFaceModelChoice(o.faceModel, "--face-model"),
        });
        process.stdout.write(o.json ? JSON.stringify(s) + "\n" : formatStats(s) + "\n");
      },
    );
}
