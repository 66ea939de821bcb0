/**
 * Checkpoints: everything a run needs to continue exactly where it stopped (weights incl. batch-norm
 * statistics, optimiser moments, RNG state, step and data cursor), as one opaque byte string that the
 * worker stores in the database and `lml train` in a folder.
 *
 * Layout: "LMLCKPT1", u32 header length, a JSON header (`meta` plus name/dtype/shape/offset per tensor),
 * zero padding to a multiple of 4, then the raw little-endian tensor data. Bytes round-trip exactly
 * (float32 in, float32 out), which is what makes a resumed run's next loss identical.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointStore } from "./hooks";

const MAGIC = "LMLCKPT1";

/** A host copy of one tensor. */
export interface StoredTensor {
  dtype: "float32" | "int32";
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface CheckpointContent<M = Record<string, unknown>> {
  /** JSON-safe bookkeeping: step, epoch, RNG state, data cursor, config fingerprint. */
  meta: M;
  tensors: Record<string, StoredTensor>;
}

interface HeaderEntry {
  name: string;
  dtype: StoredTensor["dtype"];
  shape: number[];
  offset: number;
  length: number;
}

export function encodeCheckpoint(content: CheckpointContent<unknown>): Uint8Array {
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(content.tensors)) {
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const header = new TextEncoder().encode(JSON.stringify({ meta: content.meta, tensors: entries }));
  const headerEnd = 8 + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  for (const e of entries) {
    const t = content.tensors[e.name];
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataStart + e.offset);
  }
  return out;
}

export function decodeCheckpoint<M = Record<string, unknown>>(bytes: Uint8Array): CheckpointContent<M> {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    throw new Error("not a Landmark Lab checkpoint (bad magic)");
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as {
    meta: M;
    tensors: HeaderEntry[];
  };
  const dataStart = Math.ceil((12 + len) / 4) * 4;
  const tensors: Record<string, StoredTensor> = {};
  for (const e of header.tensors) {
    // Copy: the input buffer may be unaligned or reused by the caller.
    const raw = bytes.slice(dataStart + e.offset, dataStart + e.offset + e.length * 4);
    const data = e.dtype === "int32" ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { meta: header.meta, tensors };
}

/**
 * A checkpoint store in a folder (what `lml train --out` uses): `checkpoint.bin`, replaced atomically
 * (write then rename) so a run killed mid-save still has its previous checkpoint.
 */
export function folderCheckpointStore(dir: string): CheckpointStore {
  const file = join(dir, "checkpoint.bin");
  return {
    async load() {
      if (!existsSync(file)) return null;
      return new Uint8Array(await readFile(file));
    },
    async save(bytes: Uint8Array) {
      await mkdir(dir, { recursive: true });
      await writeFile(`${file}.tmp`, bytes);
      await rename(`${file}.tmp`, file);
    },
  };
}
