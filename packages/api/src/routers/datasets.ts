/**
 * Datasets: the real datasets this server knows (core datasets.ts: under LML_DATASETS, the data dir's
 * datasets/ folder, and registered folders), their splits and counts, provenance/terms text and realism
 * statistics; registering and unregistering a folder (mutations, token-guarded like every change).
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { DATASET_SPLITS, UsageError, datasetRoots, findDataset, listDatasets, registerDataset, unregisterDataset } from "@lml/core";
import { mutationProcedure, publicProcedure, router, type Context } from "../trpc";

const nameInput = z.string().min(1).max(200);
const splitInput = z.enum(DATASET_SPLITS);

/** A UsageError (bad input: unknown dataset, a folder that is not a dataset, a taken name) is a 400 with its message. */
async function usage<T>(f: () => Promise<T>, notFound = false): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof UsageError) throw new TRPCError({ code: notFound ? "NOT_FOUND" : "BAD_REQUEST", message: err.message, cause: err });
    throw err;
  }
}

/** The statistics tool the server injects (the synthetic generator's `domainStats`), or a clear error. */
function tools(ctx: Context): NonNullable<Context["datasetTools"]> {
  if (!ctx.datasetTools) throw new TRPCError({ code: "NOT_IMPLEMENTED", message: "this server has no statistics tool (@lml/synth)" });
  return ctx.datasetTools;
}

/**
 * Statistics are computed once per server process and (dataset folder, split, count, size): a few
 * seconds of image reading and rendering that do not change while the files do not.
 */
const statsCache = new Map<string, Promise<unknown>>();
function cached(key: string, compute: () => Promise<unknown>): Promise<unknown> {
  let p = statsCache.get(key);
  if (!p) {
    p = compute().catch((err: unknown) => {
      statsCache.delete(key);
      throw err;
    });
    if (statsCache.size >= 32) statsCache.delete(statsCache.keys().next().value!);
    statsCache.set(key, p);
  }
  return p;
}

export const datasetsRouter = router({
  /** Every known dataset with its splits and counts (no provenance text: `get` has it). */
  list: publicProcedure.query(async () => {
    const all = await usage(() => listDatasets(datasetRoots()));
    return all.map(({ sourceText, ...d }) => ({ ...d, hasSource: sourceText !== null }));
  }),

  /** One dataset, with its SOURCE.md (provenance and terms). */
  get: publicProcedure.input(z.object({ name: nameInput }).strict()).query(({ input }) => usage(() => findDataset(input.name), true)),

  /**
   * Realism statistics (framing, inter-pupil distance, colour, contrast, pose from the landmarks) of one
   * split of a dataset, and of the synthetic and simulated proxy-real domains measured the same way, by
   * @lml/synth's `domainStats` (`lml synth stats`).
   */
  stats: publicProcedure
    .input(
      z
        .object({
          name: nameInput,
          split: splitInput.default("train"),
          count: z.number().int().min(8).max(400).default(100),
          size: z.number().int().min(64).max(256).default(128),
        })
        .strict(),
    )
    .query(async ({ ctx, input }) => {
      const t = tools(ctx);
      const d = await usage(() => findDataset(input.name), true);
      if (!d.splits.some((s) => s.split === input.split))
        throw new TRPCError({ code: "NOT_FOUND", message: `dataset "${d.name}" has no ${input.split} split` });
      const { count, size } = input;
      const real = cached(`300w|${d.dir}|${input.split}|${count}|${size}`, () =>
        usage(() => t.domainStats({ domain: "300w", dir: d.dir, split: input.split, count, size })),
      );
      const generated = (["synthetic", "proxy-real"] as const).map((domain) =>
        cached(`${domain}|train|${count}|${size}`, () => t.domainStats({ domain, split: "train", count, size })),
      );
      const [dataset, synthetic, proxyReal] = await Promise.all([real, ...generated]);
      return { dataset, synthetic, proxyReal };
    }),

  /** Registers a dataset folder (it must have a train split) under a name: from then on runs may read it. */
  register: mutationProcedure
    .input(z.object({ name: nameInput, path: z.string().min(1).max(4096) }).strict())
    .mutation(({ input }) => usage(() => registerDataset(input.name, input.path))),

  /** Forgets a registration (the folder is left alone). */
  unregister: mutationProcedure.input(z.object({ name: nameInput }).strict()).mutation(async ({ input }) => {
    await usage(() => unregisterDataset(input.name));
    return { name: input.name };
  }),
});
