/**
 * `lml datasets [list] [--json]`, `lml datasets register <name> <folder>`, `lml datasets unregister <name>`:
 * the real datasets runs may read (core datasets.ts: under LML_DATASETS, the data dir's datasets/ folder,
 * and registered folders, kept in $LML_DATA_DIR/datasets.json). Imports only @lml/core.
 */
import type { Command } from "commander";

export function register(program: Command): void {
  const datasets = program.command("datasets").description("the real datasets runs may read: list, register a folder, unregister");
  datasets
    .command("list", { isDefault: true })
    .description("the known datasets with their splits and face counts")
    .option("--json", "print one JSON array")
    .action(async (opts: { json?: boolean }) => {
      const { datasetRoots, listDatasets } = await import("@lml/core");
      const roots = datasetRoots();
      const all = await listDatasets(roots);
      if (opts.json) {
        process.stdout.write(JSON.stringify(all.map(({ sourceText: _, ...d }) => d)) + "\n");
        return;
      }
      const lines = [`dataset roots: ${roots.map((r) => `${r.path} (${r.origin}${r.name ? ` ${r.name}` : ""})`).join(", ")}`];
      if (all.length === 0) lines.push("no datasets (a dataset is a folder with train/ and common/ sub-folders of image + .pts pairs)");
      for (const d of all) {
        const count = (s: string) => d.splits.find((x) => x.split === s)?.count ?? "no data";
        lines.push(
          `${d.name}  train ${count("train")}  common ${count("common")}  challenging ${count("challenging")}  ` +
            `data.real: { source: 300w, dir: ${d.specDir} }${d.problem ? `  (${d.problem})` : ""}`,
        );
      }
      process.stdout.write(lines.join("\n") + "\n");
    });
  datasets
    .command("register <name> <folder>")
    .description("let runs read a dataset folder (it needs a train/ sub-folder or a train.txt list)")
    .action(async (name: string, folder: string) => {
      const { registerDataset } = await import("@lml/core");
      const r = await registerDataset(name, folder);
      process.stdout.write(`registered dataset ${r.name}: ${r.path}\n`);
    });
  datasets
    .command("unregister <name>")
    .description("forget a registered dataset (its folder is left alone)")
    .action(async (name: string) => {
      const { unregisterDataset } = await import("@lml/core");
      await unregisterDataset(name);
      process.stdout.write(`unregistered dataset ${name}\n`);
    });
}
