/**
 * Peer reference rows: other people's trained 68-point detectors (dlib ERT, face-api.js) measured here,
 * on our 300-W crops, with our evaluator, by scripts/peers/ (which writes PEERS_FILE). This is the file's
 * one schema (the script validates what it writes with it); the tables read the file when it is present.
 * Peers are reference rows, never runs of this project: no seeds, no "best", no significance marks.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { NORM_KINDS, TEST_SETS, UsageError } from "@lml/core";
import { z } from "zod";

/** Where scripts/peers/ writes the rows, relative to the repository root (LML_PEERS_FILE overrides). */
export const PEERS_FILE = "docs/reference/peers-300w-common.json";

/** The normalisations every peer row carries (the two the study reports). */
export const PEER_NORMS = ["inter-pupil", "inter-ocular"] as const satisfies readonly (typeof NORM_KINDS)[number][];
export type PeerNorm = (typeof PEER_NORMS)[number];

export const PEER_KEYS = ["dlib", "face-api"] as const;
export type PeerKey = (typeof PEER_KEYS)[number];

const fraction = z.number().min(0).max(1);
const nme = z.number().finite().nonnegative();

/** `lml eval --json` aggregates (×100 NME, AUC/FR as fractions, thresholds 8 and 10), as Evaluation rows hold them. */
export const PeerMetricsSchema = z.object({ nme, auc8: fraction, fr8: fraction, auc10: fraction, fr10: fraction });
export type PeerMetrics = z.infer<typeof PeerMetricsSchema>;

const perNorm = <T extends z.ZodType>(t: T) => z.object({ "inter-pupil": t, "inter-ocular": t });

export const PeerImageSchema = z.object({
  /** The crop's .pts name relative to the test-set folder. */
  name: z.string().min(1),
  nme: perNorm(nme),
  /** Where the points came from: the peer's own detector, or the fixed box (no detection / by protocol). */
  box: z.enum(["detected", "fixed"]),
});

export const PeerRowSchema = z
  .object({
    key: z.enum(PEER_KEYS),
    /** Display name, e.g. "dlib ERT (68)". */
    name: z.string().min(1),
    /** The method behind the model, with its paper. */
    method: z.string().min(1),
    /** Exact versions of what ran: Debian packages, npm packages, compiler. */
    software: z.record(z.string(), z.string().min(1)),
    /** The weights file as shipped by its package (never copied here), identified by hash. */
    model: z.object({ file: z.string().min(1), bytes: z.number().int().positive(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    /** How it was run, in words: detector, box, upsampling, point convention. */
    protocol: z.string().min(1),
    testSet: z.enum(TEST_SETS),
    n: z.number().int().positive(),
    metrics: perNorm(PeerMetricsSchema),
    /** Images scored from the fixed box because the peer's own detector found no face. */
    detectorFailures: z.number().int().nonnegative(),
    wallSeconds: z.number().nonnegative(),
    /** ISO time of the measurement, and the machine it ran on (rows may be re-measured one at a time). */
    measuredAt: z.iso.datetime(),
    machine: z.object({ cpu: z.string(), cores: z.number().int().positive(), memoryGiB: z.number().positive(), os: z.string(), node: z.string() }),
    /** The command that produced the row. */
    command: z.string().min(1),
    perImage: z.array(PeerImageSchema),
  })
  .superRefine((row, ctx) => {
    if (row.perImage.length !== row.n)
      ctx.addIssue({ code: "custom", path: ["perImage"], message: `${row.perImage.length} per-image entries for n = ${row.n}` });
    const names = new Set(row.perImage.map((p) => p.name));
    if (names.size !== row.perImage.length) ctx.addIssue({ code: "custom", path: ["perImage"], message: "image names repeat" });
    // The aggregate must be the mean of the per-image NMEs it was computed from.
    for (const norm of PEER_NORMS) {
      const mean = row.perImage.reduce((s, p) => s + p.nme[norm], 0) / Math.max(1, row.perImage.length);
      if (Math.abs(mean - row.metrics[norm].nme) > 1e-6 * Math.max(1, mean))
        ctx.addIssue({
          code: "custom",
          path: ["metrics", norm, "nme"],
          message: `${row.metrics[norm].nme} is not the mean of perImage (${mean})`,
        });
    }
  });
export type PeerRow = z.infer<typeof PeerRowSchema>;

export const PeerReferenceFileSchema = z
  .object({
    kind: z.literal("lml.peer-reference-rows"),
    version: z.literal(1),
    dataset: z.object({ folder: z.string().min(1), source: z.string().min(1) }),
    /** The exact evaluator command (our NME code) the metrics came from. */
    evaluator: z.string().min(1),
    rows: z.array(PeerRowSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const keys = file.rows.map((r) => r.key);
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", path: ["rows"], message: `a peer appears twice: ${keys.join(", ")}` });
  });
export type PeerReferenceFile = z.infer<typeof PeerReferenceFileSchema>;

/** LML_PEERS_FILE, else PEERS_FILE under the first folder upwards from the cwd that has it (or null). */
export function peersFilePath(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | null {
  if (env.LML_PEERS_FILE) return resolve(env.LML_PEERS_FILE);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(/* turbopackIgnore: true */ dir, PEERS_FILE);
    if (existsSync(/* turbopackIgnore: true */ candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** Parses a peers file; a bad one is a UsageError naming the file and the field. */
export function parsePeersFile(text: string, file: string): PeerReferenceFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not JSON (${(err as Error).message})`);
  }
  const parsed = PeerReferenceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}

const loaded = new Map<string, { mtimeMs: number; file: PeerReferenceFile }>();

/** The peers file if present (null when absent), re-read when it changes on disk. */
export function loadPeersFile(path: string | null = peersFilePath()): PeerReferenceFile | null {
  // turbopackIgnore: a file read at run time; without it Next traces the whole project into its build.
  if (!path || !existsSync(/* turbopackIgnore: true */ path)) return null;
  const { mtimeMs } = statSync(/* turbopackIgnore: true */ path);
  const hit = loaded.get(path);
  if (hit && hit.mtimeMs === mtimeMs) return hit.file;
  const file = parsePeersFile(readFileSync(/* turbopackIgnore: true */ path, "utf8"), path);
  loaded.set(path, { mtimeMs, file });
  return file;
}
