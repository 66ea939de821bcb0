// The run's one iBug68 → dense mapping (nets.ts nearestSubsetFor), on every scheme a study uses (issue 14.1):
// the nearest-subset protocol scores perfect dense predictions at the floor the dense sampling allows, with
// every iBug point on its own dense point, and the label-transfer nets and the test-time MLP start from it.
import * as tf from "@tensorflow/tfjs-core";
import { RunConfigSchema, selectSubset, subsetCollisions, type RunConfig } from "@lml/core";
import { renderSample, sfmAvailable } from "@lml/synth";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { initBackend } from "../src/backend/select";
import { fitTestTimeMlp, scoreShapes } from "../src/evaluate";
import { buildNets, disposeNets, nearestSubsetFor } from "../src/nets";

vi.setConfig({ testTimeout: 120_000 }); // the first SFM scheme builds its precomputed cache

beforeAll(async () => {
  await initBackend("wasm");
});

const FACE_MODELS = ["procedural", ...(sfmAvailable() ? (["sfm"] as const) : [])] as const;
const SIDE = 64;
const FACES = 8;

/**
 * Inter-pupil NME of perfect dense predictions through the protocol. Not 0: the dense curves are
 * sampled evenly, so most iBug points lie between two dense points (measured on these 8 faces,
 * procedural / SFM: 243 → 1.66 / 1.50, 490 → 0.87 / 0.67, 1001 → 0.41 / 0.38). With the inner lips of
 * the iBug template closed (61/67, 62/66, 63/65 on one point, as the closed-mouth template had them) they
 * score 2.02 / 2.35, 1.32 / 1.51, 0.88 / 1.27, and an inner lip 11–24, which these bounds reject.
 */
const NME_BOUND: Record<number, number> = { 68: 1e-3, 243: 2, 490: 1, 1001: 0.5 };
/** Per inner-lip point (60–67): measured at most 5.4 / 1.7 / 0.8 for 243 / 490 / 1001. */
const LIP_BOUND: Record<number, number> = { 68: 1e-3, 243: 7, 490: 2.5, 1001: 1.2 };

function perfectFaces(n: number, faceModel: RunConfig["data"]["faceModel"]) {
  const faces = Array.from({ length: FACES }, (_, index) =>
    renderSample({ domain: "synthetic", split: "test", index, seed: 202, size: SIDE, channels: 1, scheme: n, faceModel }),
  );
  const cat = (key: "landmarks" | "landmarks68") => Float32Array.from(faces.flatMap((f) => Array.from(f[key])));
  return { dense: cat("landmarks"), gt68: cat("landmarks68") };
}

describe.each(FACE_MODELS)("the iBug68 → dense mapping on %s faces", (faceModel) => {
  it.each([68, 243, 490, 1001])(
    "scheme %i: every iBug point has its own dense point; perfect dense GT scores the sampling floor",
    async (n) => {
      const subset = await nearestSubsetFor(n, faceModel);
      expect(subset.length).toBe(68);
      expect(subsetCollisions(subset)).toEqual([]);
      const { dense, gt68 } = perfectFaces(n, faceModel);
      const [interPupil] = scoreShapes("synthetic-test", "nearest-subset", selectSubset(dense, n, subset), gt68, gt68, 68);
      expect(interPupil.norm).toBe("inter-pupil");
      expect(interPupil.nme).toBeLessThan(NME_BOUND[n]);
      for (let i = 60; i < 68; i++) expect(interPupil.perLandmark[i], `inner lip ${i}`).toBeLessThan(LIP_BOUND[n]);
    },
  );
});

describe("the label-transfer nets and the test-time MLP", () => {
  it("start as the run's nearest-subset mapping", async () => {
    const n = 490;
    const faceModel = "procedural";
    const config = RunConfigSchema.parse({
      regime: "syn-real-label-adaptation",
      model: { inputSize: 32, stacks: 1, channels: 8, depth: 1, heatmapSize: 8 },
      data: { scheme: n, faceModel },
      eval: { mlpHidden: 16 },
    });
    const subset = await nearestSubsetFor(n, faceModel);
    const { dense, gt68 } = perfectFaces(n, faceModel);
    const selected = selectSubset(dense, n, subset);
    // Image units. The output layers start near zero (0.4 px seen at 64 px); another mapping is off by whole
    // face parts (0.1+).
    const close = (got: ArrayLike<number>) => {
      let worst = 0;
      for (let i = 0; i < selected.length; i++) worst = Math.max(worst, Math.abs(got[i] - selected[i] / SIDE));
      return worst;
    };
    const coords = tf.div(tf.tensor3d(dense, [FACES, n, 2]), SIDE) as tf.Tensor3D;
    const mlpNets = buildNets(config, subset);
    expect(
      close((mlpNets.transfer as import("../src/adaptation/transfer").LabelTransferMLP).apply(coords).dataSync()),
      "label-transfer MLP",
    ).toBeLessThan(0.02);
    disposeNets(mlpNets);
    // The U-Net reads heatmaps: logits peaked on each dense point's cell read out as the cell centres.
    const unetConfig = RunConfigSchema.parse({ ...config, train: { labelTransfer: "unet" } });
    const unet = buildNets(unetConfig, subset);
    const cells = tf.tidy(() => {
      const ij = tf.floor(tf.mul(coords, 8));
      const at = tf.add(tf.mul(tf.slice(ij, [0, 0, 1], [-1, -1, 1]), 8), tf.slice(ij, [0, 0, 0], [-1, -1, 1]));
      const onehot = tf.oneHot(tf.cast(tf.reshape(at, [FACES, n]), "int32"), 64); // B×N×64
      return tf.reshape(tf.transpose(tf.mul(onehot, 30), [0, 2, 1]), [FACES, 8, 8, n]) as tf.Tensor4D;
    });
    const centres = tf.tidy(() => tf.div(tf.add(tf.floor(tf.mul(coords, 8)), 0.5), 8)).dataSync();
    const viaUnet = unet.transfer!.predict(cells).dataSync();
    const centreSelected = selectSubset(Float32Array.from(centres), n, subset);
    let worst = 0;
    for (let i = 0; i < centreSelected.length; i++) worst = Math.max(worst, Math.abs(viaUnet[i] - centreSelected[i]));
    expect(worst, "label-transfer U-Net").toBeLessThan(0.02);
    disposeNets(unet);
    // The test-time MLP, fitted for 0 epochs, is the mapping too.
    const mlp = await fitTestTimeMlp({ count: FACES, points: n, pred: dense, gt: gt68, gt68 }, subset, {
      side: SIDE,
      epochs: 0,
      hidden: 16,
      seed: 1,
    });
    expect(close(mlp.apply(coords).dataSync()), "label-transfer MLP").toBeLessThan(0.02);
    mlp.dispose();
    tf.dispose([coords, cells]);
  });
});
