/**
 * A disk cache for the per-process precomputation (head mesh and blendshapes, texture atlas, landmark
 * curves), which otherwise costs 1–3 s of every process start. Entries are keyed by a hash of this
 * package's source files, so any code change rebuilds them; a missing, foreign or broken file is rebuilt.
 * Location: $LML_SYNTH_CACHE_DIR, else <os tmpdir>/lml-synth-precomputed; LML_SYNTH_CACHE_DIR=off disables.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

type Typed = Float32Array | Float64Array | Uint8Array | Uint32Array | Int32Array;
const KINDS = { Float32Array, Float64Array, Uint8Array, Uint32Array, Int32Array } as const;
type Kind = keyof typeof KINDS;

let sourceHash: string | null | undefined;
/** What this process did so far: entries read from disk, built (and written), or built with the cache off. */
export const precomputedStats = { read: 0, built: 0, uncached: 0, dir: "" };

/** Hash of every .ts file next to this one, or null when the sources are not readable (bundled code). */
function sourcesHash(): string | null {
  if (sourceHash !== undefined) return sourceHash;
  try {
    const dir = dirname(fileURLToPath(import.meta.url));
    const h = createHash("sha256");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts")).sort()) h.update(f).update(readFileSync(join(dir, f)));
    sourceHash = h.digest("hex").slice(0, 20);
  } catch {
    sourceHash = null;
  }
  return sourceHash;
}

function cacheDir(): string | null {
  const env = process.env.LML_SYNTH_CACHE_DIR;
  if (env === "off") return null;
  return env || join(tmpdir(), "lml-synth-precomputed");
}

/** JSON with every typed array moved into one binary blob (8-byte aligned slots). */
function encode(value: unknown): Buffer {
  const arrays: Typed[] = [];
  const json = JSON.stringify(value, (_k, v) => {
    if (ArrayBuffer.isView(v)) { arrays.push(v as Typed); return { $typed: (v as Typed).constructor.name, i: arrays.length - 1, n: (v as Typed).length }; }
    return v;
  });
  const head = Buffer.from(json);
  const parts: Buffer[] = [];
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  parts.push(len, head, Buffer.alloc((8 - ((4 + head.length) % 8)) % 8));
  for (const a of arrays) {
    const b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    parts.push(b, Buffer.alloc((8 - (b.length % 8)) % 8));
  }
  return Buffer.concat(parts);
}

function decode<T>(buf: Buffer): T {
  const hl = buf.readUInt32LE(0);
  const json = buf.subarray(4, 4 + hl).toString();
  let off = 4 + hl;
  off += (8 - (off % 8)) % 8;
  // one aligned copy of the binary part, sliced in the order the arrays were written
  const ab = new ArrayBuffer(buf.length - off);
  new Uint8Array(ab).set(buf.subarray(off));
  const slots: { kind: Kind; n: number; i: number }[] = [];
  JSON.parse(json, (_k, v) => { if (v && typeof v === "object" && "$typed" in v) slots.push({ kind: v.$typed, n: v.n, i: v.i }); return v; });
  slots.sort((a, b) => a.i - b.i);
  const made: Typed[] = [];
  let p = 0;
  for (const s of slots) {
    const C = KINDS[s.kind];
    if (!C) throw new Error(`unknown array kind ${s.kind}`);
    const bytes = s.n * C.BYTES_PER_ELEMENT;
    if (p + bytes > ab.byteLength) throw new Error("truncated");
    made[s.i] = new C(ab, p, s.n);
    p += bytes + ((8 - (bytes % 8)) % 8);
  }
  return JSON.parse(json, (_k, v) => (v && typeof v === "object" && "$typed" in v ? made[v.i] : v)) as T;
}

/** `build()`'s result, from the disk cache when this exact source tree built it before. */
export function precomputed<T>(name: string, build: () => T): T {
  const dir = cacheDir(), hash = sourcesHash();
  if (!dir || !hash) { precomputedStats.uncached++; return build(); }
  precomputedStats.dir = dir;
  const file = join(dir, `${name}-${hash}.bin`);
  try {
    const v = decode<T>(readFileSync(file));
    precomputedStats.read++;
    return v;
  } catch {
    // missing or unreadable: build it
  }
  const value = build();
  precomputedStats.built++;
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`; // threads share a pid
    writeFileSync(tmp, encode(value));
    renameSync(tmp, file); // atomic: parallel workers never read half a file
  } catch {
    // a read-only or full disk only costs the next start its time
  }
  return value;
}
