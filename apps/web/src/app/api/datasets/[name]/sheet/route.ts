import { z } from "zod";
import { DATASET_SPLITS, UsageError, findDataset } from "@lml/core";

export const dynamic = "force-dynamic";

const query = z.object({
  split: z.enum(DATASET_SPLITS).default("train"),
  count: z.coerce.number().int().min(1).max(64).default(16),
  seed: z.coerce.number().int().min(0).max(1_000_000).default(1),
});

/**
 * A contact sheet of a known dataset's split: its faces framed by the one rule, the 68 annotated points
 * drawn (the synthetic generator's `contactSheet`, as `lml synth preview --domain 300w`). Rendered on
 * request from the files, never stored.
 */
export async function GET(req: Request, ctx: { params: Promise<{ name: string }> }) {
  const q = query.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!q.success) return new Response(`bad query: ${q.error.issues[0].message}`, { status: 400 });
  try {
    const d = await findDataset((await ctx.params).name);
    if (!d.splits.some((s) => s.split === q.data.split)) return new Response(`no ${q.data.split} split`, { status: 404 });
    const { contactSheet } = await import("@lml/synth/preview");
    const png = await contactSheet({
      domain: "300w",
      dir: d.dir,
      split: q.data.split,
      scheme: 68,
      count: q.data.count,
      seed: q.data.seed,
      size: 128,
      cell: 160,
    });
    return new Response(new Uint8Array(png), { headers: { "content-type": "image/png", "cache-control": "private, max-age=600" } });
  } catch (err) {
    if (err instanceof UsageError) return new Response(err.message, { status: 404 });
    throw err;
  }
}
