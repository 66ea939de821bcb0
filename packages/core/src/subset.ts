import { z } from "zod";
import { UsageError } from "./errors";
import type { LandmarkScheme } from "./scheme";

export interface NearestSubsetOptions {
  /**
   * Only consider dense points whose group equals the iBug point's group, where the dense scheme has any
   * point in that group (otherwise all points). Off by default: dense schemes name groups their own way.
   */
  sameGroup?: boolean;
}

/**
 * For each point of `ibug` (usually iBug68), the index of the closest `dense` point (Euclidean distance
 * between the two templates, which must come from one frame). Two iBug points may map to one dense point.
 */
export function nearestSubset(dense: LandmarkScheme, ibug: LandmarkScheme, options: NearestSubsetOptions = {}): Int32Array {
  return nearestSubsetWithDistances(dense, ibug, options).indices;
}

/** nearestSubset plus each match's distance (template units), for reviewing a table before committing it. */
export function nearestSubsetWithDistances(
  dense: LandmarkScheme,
  ibug: LandmarkScheme,
  options: NearestSubsetOptions = {},
): { indices: Int32Array; distances: Float64Array } {
  const indices = new Int32Array(ibug.count);
  const distances = new Float64Array(ibug.count);
  const denseGroups = new Set(dense.groups);
  for (let i = 0; i < ibug.count; i++) {
    const x = ibug.template[2 * i];
    const y = ibug.template[2 * i + 1];
    const restrict = options.sameGroup === true && denseGroups.has(ibug.groups[i]);
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < dense.count; j++) {
      if (restrict && dense.groups[j] !== ibug.groups[i]) continue;
      const d = Math.hypot(dense.template[2 * j] - x, dense.template[2 * j + 1] - y);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    if (best < 0) throw new UsageError(`nearestSubset: dense scheme "${dense.id}" has no points`);
    indices[i] = best;
    distances[i] = bestD;
  }
  return { indices, distances };
}

/**
 * Groups of `ibug` point indices that `indices` (iBug point → dense point) send to one dense point, e.g.
 * [[61, 67], [63, 65]] for inner lips matched on a closed-mouth template. [] when every iBug point has
 * its own dense point.
 */
export function subsetCollisions(indices: ArrayLike<number>): number[][] {
  const by = new Map<number, number[]>();
  Array.from(indices).forEach((dense, i) => by.set(dense, [...(by.get(dense) ?? []), i]));
  return [...by.values()].filter((g) => g.length > 1);
}

/**
 * THE iBug → dense mapping of a run: the nearest-subset protocol selects it, and the label-transfer
 * nets and the test-time MLP start from it. A reviewed table when one is given (it must belong to the
 * two schemes: ids, dense count, one entry per iBug point), else each iBug point's nearest dense point
 * on the two templates (from one frame; the synthetic generator's open-mouth template, so that inner
 * lips have their own points). Either way every iBug point must have its own dense point — two on one
 * would score one iBug point against another's position (issue 14: NME 14.5 at inner lips 61 and 63) —
 * else a UsageError names the points that share one.
 */
export function ibugSubset(dense: LandmarkScheme, ibug: LandmarkScheme, table?: SubsetTable): Int32Array {
  let indices: Int32Array;
  if (table) {
    const where = `subset table ${table.dense} → ${table.ibug} v${table.version}`;
    checkTableFits(validTable(table, where), where, { dense, ibug });
    indices = Int32Array.from(table.indices);
  } else indices = nearestSubset(dense, ibug);
  const shared = subsetCollisions(indices);
  if (shared.length)
    throw new UsageError(
      `nearest subset ${dense.id} → ${ibug.id}: ` +
        shared.map((g) => `iBug points ${g.join(" and ")} share dense point ${indices[g[0]]}`).join("; ") +
        " (every iBug point needs its own dense point: is the template's mouth closed?)",
    );
  return indices;
}

/** Picks the subset points out of dense shapes (one shape or a batch): output has indices.length points each. */
export function selectSubset(shapes: Float32Array, denseCount: number, indices: Int32Array): Float32Array {
  if (shapes.length % (2 * denseCount) !== 0)
    throw new UsageError(`selectSubset: length ${shapes.length} is not a multiple of 2·${denseCount}`);
  const b = shapes.length / (2 * denseCount);
  const m = indices.length;
  const out = new Float32Array(b * m * 2);
  for (let s = 0; s < b; s++)
    for (let i = 0; i < m; i++) {
      out[2 * (s * m + i)] = shapes[2 * (s * denseCount + indices[i])];
      out[2 * (s * m + i) + 1] = shapes[2 * (s * denseCount + indices[i]) + 1];
    }
  return out;
}

/**
 * The committed form of a mapping: reviewed by a person, versioned (bump `version` whenever `indices`
 * change, so results can say which table they used).
 */
export const SubsetTableSchema = z
  .object({
    version: z.number().int().positive(),
    dense: z.string().min(1),
    ibug: z.string().min(1),
    /** Dense point count, to catch a table used with another scheme of the same id. */
    denseCount: z.number().int().positive().optional(),
    indices: z.array(z.number().int().min(0)).min(1),
    /** Template-frame distance of each match, as computed when the table was made. */
    distances: z.array(z.number().min(0)).optional(),
    reviewedBy: z.string().optional(),
    reviewedAt: z.string().optional(),
    note: z.string().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.denseCount !== undefined)
      t.indices.forEach((v, i) => {
        if (v >= t.denseCount!) ctx.addIssue({ code: "custom", path: ["indices", i], message: `index ${v} ≥ denseCount ${t.denseCount}` });
      });
    if (t.distances && t.distances.length !== t.indices.length)
      ctx.addIssue({ code: "custom", path: ["distances"], message: `expected ${t.indices.length} entries, got ${t.distances.length}` });
  });
export type SubsetTable = z.infer<typeof SubsetTableSchema>;

/** Builds a table (version 1 unless given) from two schemes, ready for review. */
export function makeSubsetTable(
  dense: LandmarkScheme,
  ibug: LandmarkScheme,
  extra: { version?: number; reviewedBy?: string; reviewedAt?: string; note?: string } & NearestSubsetOptions = {},
): SubsetTable {
  const { indices, distances } = nearestSubsetWithDistances(dense, ibug, extra);
  const { sameGroup: _ignored, version = 1, ...review } = extra;
  return {
    version,
    dense: dense.id,
    ibug: ibug.id,
    denseCount: dense.count,
    indices: Array.from(indices),
    distances: Array.from(distances, (d) => Number(d.toPrecision(6))),
    ...review,
  };
}

/** Pretty JSON (one index list per line would be nicer to diff, but JSON.stringify keeps it simple). */
export function exportSubsetTable(table: SubsetTable): string {
  return JSON.stringify(SubsetTableSchema.parse(table), null, 2) + "\n";
}

/**
 * Parses and checks a table. With schemes given, also checks that it belongs to them (ids, counts,
 * index range). Errors name the file and the field.
 */
export function parseSubsetTable(
  text: string,
  fileName: string,
  schemes?: { dense?: LandmarkScheme; ibug?: LandmarkScheme },
): SubsetTable & { indicesArray: Int32Array } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  const t = validTable(raw, fileName);
  checkTableFits(t, fileName, schemes);
  return { ...t, indicesArray: Int32Array.from(t.indices) };
}

/** The table, schema-checked; a UsageError names the file and the first bad field. */
function validTable(raw: unknown, fileName: string): SubsetTable {
  const parsed = SubsetTableSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${fileName}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Checks that a table belongs to these schemes (ids, dense count, index range, one entry per iBug point). */
function checkTableFits(t: SubsetTable, fileName: string, schemes?: { dense?: LandmarkScheme; ibug?: LandmarkScheme }): void {
  const { dense, ibug } = schemes ?? {};
  if (dense) {
    if (t.dense !== dense.id) throw new UsageError(`${fileName}: dense: table is for "${t.dense}", not "${dense.id}"`);
    if (t.denseCount !== undefined && t.denseCount !== dense.count)
      throw new UsageError(`${fileName}: denseCount: table says ${t.denseCount}, scheme has ${dense.count}`);
    const bad = t.indices.findIndex((v) => v >= dense.count);
    if (bad >= 0) throw new UsageError(`${fileName}: indices.${bad}: ${t.indices[bad]} out of range 0..${dense.count - 1}`);
  }
  if (ibug) {
    if (t.ibug !== ibug.id) throw new UsageError(`${fileName}: ibug: table is for "${t.ibug}", not "${ibug.id}"`);
    if (t.indices.length !== ibug.count)
      throw new UsageError(`${fileName}: indices: expected ${ibug.count} entries, got ${t.indices.length}`);
  }
}
