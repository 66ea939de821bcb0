// Checkpoint fingerprints across versions: a checkpoint written before a knob existed must still resume.
import { RunConfigSchema } from "@lml/core";
import { describe, expect, it } from "vitest";
import { fingerprint } from "../src/state";

// A syn-real-label-adaptation config as written before train.transferHidden, unetChannels, dalnBlock and
// the Adam betas existed (the label-transfer MLP was eval.mlpHidden wide), and the fingerprint the engine
// of that time stored in its checkpoint (commit cbc5b23, read back from a checkpoint it wrote).
const OLD_CONFIG = {
  regime: "syn-real-label-adaptation",
  seed: 1,
  model: { inputSize: 64, stacks: 2, channels: 64, depth: 2, heatmapSize: 8 },
  data: {
    scheme: 490,
    syntheticTrain: 160,
    syntheticTest: 40,
    realTrain: 64,
    realCommon: 32,
    realChallenging: 16,
    real: { source: "proxy-real" },
  },
  train: { epochs: 1, batchSize: 16, lr: 0.004, rampSteps: 125 },
  eval: { mlpEpochs: 20, mlpHidden: 64 },
};
const OLD_FINGERPRINT =
  '{"regime":"syn-real-label-adaptation","seed":1,"model":{"inputSize":64,"inputChannels":1,"stacks":2,"channels":64,"depth":2,"blocks":1,"heatmapSize":8},' +
  '"data":{"scheme":490,"syntheticTrain":160,"syntheticTest":40,"realTrain":64,"realCommon":32,"realChallenging":16,"real":{"source":"proxy-real"}},' +
  '"train":{"batchSize":16,"lr":0.004,"weightDecay":0,"heatmapWeight":1,"coordWeight":1,"labelWeight":1,"dalnWeight":0.1,"discWeight":0.1,"rampSteps":125,' +
  '"augment":{"flip":0.5,"rotation":15,"scale":0.1,"translate":0.05}}}';

const parse = (over: { train?: object; eval?: object } = {}) =>
  RunConfigSchema.parse({ ...OLD_CONFIG, train: { ...OLD_CONFIG.train, ...over.train }, eval: { ...OLD_CONFIG.eval, ...over.eval } });

describe("checkpoint fingerprint", () => {
  it("of an old config equals the one the engine wrote before the later knobs existed", () => {
    const config = parse();
    expect(config.train.transferHidden).toBe(64); // left out: eval.mlpHidden, as before
    expect(fingerprint(config)).toBe(OLD_FINGERPRINT);
    // Epochs and eval may change on resume (more epochs, a longer test-time fit).
    expect(fingerprint(parse({ train: { epochs: 2 }, eval: { mlpEpochs: 50 } }))).toBe(OLD_FINGERPRINT);
  });

  it("leaves the later knobs out at their old values, and tells any other value apart", () => {
    const same = {
      transferHidden: 64,
      unetChannels: 32,
      dalnBlock: 64,
      adamBeta1: 0.9,
      adamBeta2: 0.999,
      heatmapSigma: 1,
      lrSchedule: "cosine",
      discHidden: 64,
    };
    expect(fingerprint(parse({ train: same }))).toBe(OLD_FINGERPRINT);
    for (const train of [
      { transferHidden: 256 },
      { unetChannels: 16 },
      { dalnBlock: 32 },
      { adamBeta1: 0.8 },
      { adamBeta2: 0.99 },
      { labelTransfer: "unet" },
    ]) {
      expect(fingerprint(parse({ train })), JSON.stringify(train)).not.toBe(OLD_FINGERPRINT);
    }
    // Data knobs too: data.faceModel (added later) is left out at "auto", what a config without it meant.
    const data = (faceModel: string) => fingerprint(RunConfigSchema.parse({ ...OLD_CONFIG, data: { ...OLD_CONFIG.data, faceModel } }));
    expect(data("auto")).toBe(OLD_FINGERPRINT);
    expect(data("procedural")).toContain('"faceModel":"procedural"');
  });

  it("keeps train.transferHidden out while it follows eval.mlpHidden, in whatever width", () => {
    // Left out, the width follows eval.mlpHidden (the net is built that wide): no key in the fingerprint.
    const wide = parse({ eval: { mlpHidden: 256 } });
    expect(wide.train.transferHidden).toBe(256);
    expect(fingerprint(wide)).not.toContain("transferHidden");
    // Given and different from eval.mlpHidden: a network the old engine never built, so it counts.
    expect(fingerprint(parse({ train: { transferHidden: 128 } }))).toContain('"transferHidden":128');
  });
});
