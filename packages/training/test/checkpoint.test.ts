import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint, folderCheckpointStore } from "../src/checkpoint";

describe("checkpoint bytes", () => {
  it("round-trip tensors bit for bit, with the meta", async () => {
    const a = new Float32Array([1.5, -2, Math.PI, 1e-30, 3.4e38]);
    const b = new Int32Array([7, -1, 2 ** 30]);
    const bytes = encodeCheckpoint({
      meta: { step: 42, rng: 123456789 },
      tensors: { "x/a": { dtype: "float32", shape: [5], data: a }, b: { dtype: "int32", shape: [1, 3], data: b } },
    });
    const back = decodeCheckpoint<{ step: number; rng: number }>(bytes.slice()); // copy: alignment must not matter
    expect(back.meta).toEqual({ step: 42, rng: 123456789 });
    expect(Array.from(back.tensors["x/a"].data)).toEqual(Array.from(a));
    expect(back.tensors.b).toEqual({ dtype: "int32", shape: [1, 3], data: b });
    expect(() => decodeCheckpoint(new Uint8Array(20))).toThrow(/magic/);
  });

  it("a folder store keeps one checkpoint, replaced atomically", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "lml-ckpt-")), "run");
    const store = folderCheckpointStore(dir);
    expect(await store.load()).toBeNull();
    await store.save(new Uint8Array([1, 2, 3]), 1);
    await store.save(new Uint8Array([4, 5]), 2);
    expect(Array.from((await store.load())!)).toEqual([4, 5]);
    expect(readdirSync(dir)).toEqual(["checkpoint.bin"]);
  });
});
