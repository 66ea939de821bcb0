// Checkpoint fingerprints across versions: a checkpoint written before a knob existed must still resume.
import { RunConfigSchema } from "@lml/core";
import { describe, expect, it } from "vitest";
import { fingerprint, fingerprintDifferences } from "../src/state";

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

// Its width, from the checkpoint's net/transfer/w1 tensor ([2·490, 64]): older fingerprints left it out.
const OLD_WIDTH = 64;
const differences = (config: ReturnType<typeof parse>) => fingerprintDifferences(OLD_FINGERPRINT, config, OLD_WIDTH);

describe("checkpoint fingerprint", () => {
  it("of an old config matches the one the engine wrote before the later knobs existed", () => {
    const config = parse();
    expect(config.train.transferHidden).toBe(64); // left out: eval.mlpHidden, as before
    expect(differences(config)).toEqual([]);
    // Today's fingerprint holds the resolved width of the MLP the run trains (issue 14.3).
    expect(fingerprint(config)).toBe(OLD_FINGERPRINT.replace(/}}$/, ',"transferHidden":64}}'));
    // Epochs and eval may change on resume (more epochs, a longer test-time fit).
    expect(differences(parse({ train: { epochs: 2 }, eval: { mlpEpochs: 50 } }))).toEqual([]);
    // Without the tensors' width, an old fingerprint says nothing about it.
    expect(fingerprintDifferences(OLD_FINGERPRINT, config)).toEqual([expect.stringMatching(/^train.transferHidden: absent/)]);
  });

  it("leaves the later knobs out at their old values, and names any other value", () => {
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
    expect(differences(parse({ train: same }))).toEqual([]);
    for (const [train, field] of [
      [{ transferHidden: 256 }, "train.transferHidden: 64 in the checkpoint, 256 in this configuration"],
      [{ unetChannels: 16 }, "train.unetChannels: absent in the checkpoint, 16 in this configuration"],
      [{ dalnBlock: 32 }, "train.dalnBlock: absent in the checkpoint, 32"],
      [{ adamBeta1: 0.8 }, "train.adamBeta1: absent in the checkpoint, 0.8"],
      [{ adamBeta2: 0.99 }, "train.adamBeta2: absent in the checkpoint, 0.99"],
      [{ labelTransfer: "unet" }, 'train.labelTransfer: absent in the checkpoint, "unet"'],
    ] as const) {
      expect(differences(parse({ train })).join("; "), JSON.stringify(train)).toContain(field);
    }
    // Data knobs too: data.faceModel (added later) is left out at "auto", what a config without it meant.
    const data = (faceModel: string) => RunConfigSchema.parse({ ...OLD_CONFIG, data: { ...OLD_CONFIG.data, faceModel } });
    expect(fingerprintDifferences(OLD_FINGERPRINT, data("auto"), OLD_WIDTH)).toEqual([]);
    expect(fingerprintDifferences(OLD_FINGERPRINT, data("procedural"), OLD_WIDTH)).toEqual([
      'data.faceModel: absent in the checkpoint, "procedural" in this configuration',
    ]);
    // Model knobs: model.stem (added later) is left out at "pooled", the stem every older checkpoint has.
    const model = (stem: string) => RunConfigSchema.parse({ ...OLD_CONFIG, model: { ...OLD_CONFIG.model, stem } });
    expect(fingerprintDifferences(OLD_FINGERPRINT, model("pooled"), OLD_WIDTH)).toEqual([]);
    expect(fingerprintDifferences(OLD_FINGERPRINT, model("learned"), OLD_WIDTH)).toEqual([
      'model.stem: absent in the checkpoint, "learned" in this configuration',
    ]);
  });

  it("covers the label-transfer MLP's resolved width, and only where the run trains one (issue 14.3)", () => {
    // eval.mlpHidden changed, train.transferHidden left out: another network, refused by name.
    const wider = parse({ eval: { mlpHidden: 256 } });
    expect(wider.train.transferHidden).toBe(256);
    expect(differences(wider)).toEqual([
      "train.transferHidden: 64 in the checkpoint, 256 in this configuration (the label-transfer MLP's width; " +
        "left out, it is eval.mlpHidden: give train.transferHidden: 64 to resume)",
    ]);
    // eval.mlpHidden changed with the width given: only the test-time MLP changes, so it resumes.
    expect(differences(parse({ eval: { mlpHidden: 256 }, train: { transferHidden: 64 } }))).toEqual([]);
    // A run without a label-transfer MLP: neither knob is part of the experiment.
    for (const other of [
      { regime: "uda-discriminator" },
      { regime: "syn-real-label-adaptation", train: { ...OLD_CONFIG.train, labelTransfer: "unet" } },
    ]) {
      const a = RunConfigSchema.parse({ ...OLD_CONFIG, ...other });
      const b = RunConfigSchema.parse({ ...OLD_CONFIG, ...other, eval: { ...OLD_CONFIG.eval, mlpHidden: 256 } });
      expect(fingerprint(a)).not.toContain("transferHidden");
      expect(fingerprint(b)).toBe(fingerprint(a));
      expect(fingerprintDifferences(fingerprint(a), b)).toEqual([]);
    }
  });

  it("compares values, not key order, and names a nested field", () => {
    const config = parse();
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(fingerprint(config))).reverse()));
    expect(fingerprintDifferences(reordered, config)).toEqual([]);
    expect(fingerprintDifferences(fingerprint(config), parse({ train: { augment: { flip: 0 } } }))).toEqual([
      "train.augment.flip: 0.5 in the checkpoint, 0 in this configuration",
    ]);
  });
});
