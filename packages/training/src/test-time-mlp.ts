/**
 * The test-time MLP a run fitted at its final evaluation (protocol `test-time-mlp`), persisted so that
 * `lml predict` applies the very network the stored NMEs came from: a "model" artifact
 * `test-time-mlp.bin` beside the run's checkpoint (the worker stores it with the run, `lml train` in
 * its --out folder). Layout: checkpoint.ts's format, with the mapping's shape and provenance as meta.
 */
import * as tf from "@tensorflow/tfjs-core";
import { UsageError } from "@lml/core";
import { LabelTransferMLP } from "./adaptation/transfer";
import { decodeCheckpoint, encodeCheckpoint, type StoredTensor } from "./checkpoint";

/** The artifact's file and Artifact.name; its Artifact.kind is "model". */
export const TEST_TIME_MLP_FILE = "test-time-mlp.bin";
export const MODEL_ARTIFACT_KIND = "model";

export interface TestTimeMlpMeta {
  kind: "test-time-mlp";
  version: 1;
  /** The model's points (the MLP's input) and its hidden width. */
  inPoints: number;
  hidden: number;
  /** The nearest-subset mapping its skip connection starts from. */
  subset: number[];
  /** Which split it was fitted on ("real-train": the real train split minus validation) and how many faces. */
  fittedOn: string;
  count: number;
  /** The optimiser step of the weights whose predictions it was fitted to (the final checkpoint's). */
  step: number;
}

export function encodeTestTimeMlp(mlp: LabelTransferMLP, meta: Omit<TestTimeMlpMeta, "kind" | "version">): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, v] of Object.entries(mlp.named))
    tensors[name] = { dtype: "float32", shape: v.shape, data: v.dataSync() as Float32Array };
  return encodeCheckpoint({ meta: { kind: "test-time-mlp", version: 1, ...meta } satisfies TestTimeMlpMeta, tensors });
}

/** The stored MLP, ready to apply; `where` names the file or artifact in errors. */
export function decodeTestTimeMlp(bytes: Uint8Array, where: string): { mlp: LabelTransferMLP; meta: TestTimeMlpMeta } {
  let content: ReturnType<typeof decodeCheckpoint<TestTimeMlpMeta>>;
  try {
    content = decodeCheckpoint<TestTimeMlpMeta>(bytes);
  } catch {
    throw new UsageError(`${where}: not a stored test-time MLP`);
  }
  const { meta, tensors } = content;
  if (meta.kind !== "test-time-mlp" || meta.version !== 1) throw new UsageError(`${where}: not a stored test-time MLP`);
  const mlp = new LabelTransferMLP(meta.inPoints, Int32Array.from(meta.subset), meta.hidden, 0, "test-time-mlp");
  for (const [name, v] of Object.entries(mlp.named)) {
    const t = tensors[name];
    if (!t || !tf.util.arraysEqual(t.shape, v.shape)) {
      mlp.dispose();
      throw new UsageError(`${where}: tensor ${name} missing or of another shape`);
    }
    v.assign(tf.tensor(t.data, t.shape, "float32"));
  }
  return { mlp, meta };
}
