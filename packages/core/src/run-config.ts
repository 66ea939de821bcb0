import { z } from "zod";
import { UsageError } from "./errors";
import { describeIssue } from "./issue-messages";
import { DB_INT_MAX, runConfigProblems } from "./run-config-rules";
import { REGIMES } from "./study";

/**
 * The configuration of one training run: every knob the trainer has, with its default.
 * Shared by `lml train --config`, grid specs (whose cells are partial RunConfigs), the worker and the
 * dashboard. Units: images are square, sizes in pixels; learning rates per optimiser step.
 * Rules that combine fields (the model's shape, step and memory bounds) are in run-config-rules.ts;
 * RunConfigSchema applies them, so every entry point rejects the same configs.
 */
export const RegimeSchema = z.enum(REGIMES);

export const ModelConfigSchema = z
  .object({
    /** Input image side (pixels). */
    inputSize: z.number().int().min(32).max(512).default(64),
    /** 1 = grayscale, 3 = RGB. */
    inputChannels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Stacked hourglass modules, each with intermediate supervision. */
    stacks: z.number().int().min(1).max(8).default(2),
    /** Feature channels inside the hourglass. */
    channels: z.number().int().min(8).max(512).default(64),
    /** Down-sampling levels per hourglass. */
    depth: z.number().int().min(1).max(6).default(2),
    /** Residual blocks per level. */
    blocks: z.number().int().min(1).max(4).default(1),
    /** Heatmap side; the stem downsamples the input to this. */
    heatmapSize: z.number().int().min(8).max(128).default(16),
    /**
     * How the stem reaches the heatmap side after its stride-2 convolution: "pooled" = parameter-free
     * 2×2 average pools, then two residuals at heatmap size (cheap: the seed study's stem); "learned" =
     * a residual at the stride-2 resolution before pooling (Newell et al.'s stem), so fine detail of a
     * large input is learned before it is averaged away. Matters when inputSize / heatmapSize ≥ 4.
     */
    stem: z.enum(["pooled", "learned"]).default("pooled"),
  })
  .strict();

export const AugmentConfigSchema = z
  .object({
    /** Horizontal flip with the scheme's mirror pairs, probability. */
    flip: z.number().min(0).max(1).default(0.5),
    /** Max rotation, degrees. */
    rotation: z.number().min(0).max(90).default(15),
    /** Max relative scale change, e.g. 0.1 = ±10%. */
    scale: z.number().min(0).max(0.5).default(0.1),
    /** Max translation, fraction of the image side. */
    translate: z.number().min(0).max(0.3).default(0.05),
  })
  .strict();

/** A path: at least one character that is not white space. */
const NonBlank = z.string().regex(/\S/, { error: "must name a file or folder" });

export const RealDataSchema = z.discriminatedUnion("source", [
  /** Simulated stand-in for 300-W from @lml/synth (labelled as simulated everywhere it is shown). */
  z.object({ source: z.literal("proxy-real") }).strict(),
  /**
   * A real dataset folder in the 300-W .pts layout (image + .pts pairs): its splits are its sub-folders
   * `train/`, `common/` and optionally `challenging/`, or list files (`train.txt`, … in the folder, or
   * the `*List` fields, which win), with entries relative to the folder. Paths are confined to the
   * dataset roots (core datasets.ts); relative paths are relative to the repository root.
   */
  z
    .object({
      source: z.literal("300w"),
      dir: NonBlank,
      trainList: NonBlank.optional(),
      commonList: NonBlank.optional(),
      challengingList: NonBlank.optional(),
    })
    .strict(),
]);

/**
 * Face shape model of the generated faces (synthetic and proxy-real): the Surrey Face Model, the built-in
 * procedural head, or "auto" (the SFM when its files are present, see @lml/synth face-model.ts). The
 * model it resolves to is part of the data cache key.
 */
export const FACE_MODELS = ["auto", "sfm", "procedural"] as const;

/**
 * The validation split of every domain (study.ts VALIDATION_SETS), for model selection and tuning:
 * - 300-W: `fraction` of the dataset's train split is held out — the faces are shuffled by `seed` and
 *   the first ones kept aside — and the run trains on the rest (`data.realTrain` counts from the rest);
 * - generated domains (synthetic, proxy-real): `fraction` × `data.syntheticTrain` (resp. `data.realTrain`)
 *   faces drawn from the train split's generator under `seed`, i.e. faces the run never trains on.
 * `seed` is a split seed, fixed for a study (not the run seed), so every run validates on the same faces.
 * fraction 0 = no validation sets.
 */
export const ValidationConfigSchema = z
  .object({
    fraction: z.number().min(0).max(0.5).default(0.1),
    seed: z.number().int().min(0).max(DB_INT_MAX).default(505),
  })
  .strict();

export const DataConfigSchema = z
  .object({
    /** Dense synthetic scheme (point count) the model predicts; 68 for the supervised-real regime. */
    scheme: z.number().int().min(68).max(2000).default(490),
    /** Synthetic training images (rendered once, cached). */
    syntheticTrain: z.number().int().min(1).max(DB_INT_MAX).default(2000),
    /** Test images; Evaluation.count stores it (a 32-bit integer column, as every count below). */
    syntheticTest: z.number().int().min(1).max(DB_INT_MAX).default(200),
    /** Real (or proxy-real) images: training split (labels used only by regimes that may). */
    realTrain: z.number().int().min(1).max(DB_INT_MAX).default(500),
    realCommon: z.number().int().min(1).max(DB_INT_MAX).default(200),
    realChallenging: z.number().int().min(1).max(DB_INT_MAX).default(100),
    real: RealDataSchema.default({ source: "proxy-real" }),
    faceModel: z.enum(FACE_MODELS).default("auto"),
    validation: ValidationConfigSchema.default(ValidationConfigSchema.parse({})),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    /** Passes over the labelled split; epochs × batches per epoch must fit Run.step (see run-config-rules). */
    epochs: z.number().int().min(1).max(DB_INT_MAX).default(10),
    batchSize: z.number().int().min(1).max(256).default(16),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().min(0).default(0),
    /**
     * Loss weights: heatmap cross-entropy (spatial softmax vs a Gaussian target), coordinate L1
     * (soft-argmax), label-transfer, DALN, discriminator.
     */
    heatmapWeight: z.number().min(0).default(1),
    coordWeight: z.number().min(0).default(1),
    labelWeight: z.number().min(0).default(1),
    dalnWeight: z.number().min(0).default(0.1),
    discWeight: z.number().min(0).default(0.1),
    /** Adversarial ramp: lambda = tanh(step / rampSteps). */
    rampSteps: z.number().int().min(1).max(DB_INT_MAX).default(2000),
    /**
     * Label-transfer network of syn-real-label-adaptation (dense prediction -> iBug68):
     * "mlp" = an MLP on the soft-argmax coordinates (hidden width `train.transferHidden`);
     * "unet" = a small U-Net-like encoder-decoder on the dense heatmaps' spatial softmax that outputs 68
     * heatmaps, read out by soft-argmax (`train.unetChannels` feature channels). Both start as the
     * nearest-subset mapping.
     */
    labelTransfer: z.enum(["mlp", "unet"]).default("mlp"),
    /**
     * Hidden width of the "mlp" label-transfer net. Left out, it is `eval.mlpHidden`: the width was read
     * from there before this knob existed, so configs written then train the same network.
     */
    transferHidden: z.number().int().min(8).max(4096).optional(),
    /** Feature channels of the "unet" label-transfer net: small, it works at heatmap resolution (8×8 in the seed study). */
    unetChannels: z.number().int().min(1).max(1024).default(32),
    /**
     * Standard deviation of the Gaussian heatmap targets, in heatmap cells (wider blurs neighbouring
     * dense points together, narrower gives little gradient off-peak).
     */
    heatmapSigma: z.number().positive().max(16).default(1),
    /** Learning-rate schedule: "cosine" decays from lr to lr/10 over the run; "constant" keeps lr. */
    lrSchedule: z.enum(["cosine", "constant"]).default("cosine"),
    /** Hidden width of the DANN domain discriminator (uda-discriminator). */
    discHidden: z.number().int().min(1).max(4096).default(64),
    /**
     * Landmarks per DALN step (at most): the nuclear-norm discrepancy needs one batch × cells SVD per
     * landmark, so each step takes one of n = ceil(K / dalnBlock) strided blocks in turn (every n-th
     * landmark, equally weighted over a cycle), which bounds the SVDs' cost on dense schemes.
     */
    dalnBlock: z.number().int().min(1).max(2000).default(64),
    /** AdamW's moment decay rates (Kingma & Ba's defaults, which the study used). */
    adamBeta1: z.number().min(0).lt(1).default(0.9),
    adamBeta2: z.number().min(0).lt(1).default(0.999),
    augment: AugmentConfigSchema.default(AugmentConfigSchema.parse({})),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** Evaluate every N epochs during training (0 = only at the end). */
    everyEpochs: z.number().int().min(0).default(0),
    /** Test-time MLP (dense -> iBug68) training epochs and hidden width. */
    mlpEpochs: z.number().int().min(1).max(DB_INT_MAX).default(200),
    mlpHidden: z.number().int().min(8).max(4096).default(256),
    /**
     * Images per inference batch when predicting the test splits. Inference uses the batch-norm running
     * statistics, so it changes speed and memory, not the numbers.
     */
    batchSize: z.number().int().min(1).max(256).default(32),
    /**
     * Flip-test: predict each image and its horizontal mirror and average the two (points mirrored back
     * with the scheme's mirror pairs): twice the inference for a steadier estimate (Newell et al. do it).
     * Every split of the evaluation uses it, the test-time MLP's fit included, and so does `lml predict`.
     */
    flipTest: z.boolean().default(false),
    /** Test images drawn per test set in the final evaluation's sample strips (0 = no strips). */
    sampleImages: z.number().int().min(0).max(64).default(8),
  })
  .strict();

/** The fields of a RunConfig, each checked alone (grid specs check partial cells against these). */
export const RunConfigFieldsSchema = z
  .object({
    regime: RegimeSchema,
    /** Stored in Run.seed (a 32-bit integer column). */
    seed: z.number().int().min(0).max(DB_INT_MAX).default(1),
    model: ModelConfigSchema.default(ModelConfigSchema.parse({})),
    data: DataConfigSchema.default(DataConfigSchema.parse({})),
    train: TrainConfigSchema.default(TrainConfigSchema.parse({})),
    eval: EvalConfigSchema.default(EvalConfigSchema.parse({})),
  })
  .strict();

/**
 * A whole RunConfig: the fields, the rules that combine them (run-config-rules.ts; each error names the
 * fields and the rule), and the defaults that come from another field (`train.transferHidden`).
 */
export const RunConfigSchema = RunConfigFieldsSchema.superRefine((config, ctx) => {
  for (const p of runConfigProblems(config)) ctx.addIssue({ code: "custom", path: p.path, message: p.message, input: config });
}).transform((config) => ({
  ...config,
  train: { ...config.train, transferHidden: config.train.transferHidden ?? config.eval.mlpHidden },
}));
export type RunConfig = z.output<typeof RunConfigSchema>;
/** What a user writes: every field but the regime may be left out. */
export type RunConfigInput = z.input<typeof RunConfigSchema>;
export type ModelConfig = RunConfig["model"];

/**
 * A RunConfig from user or stored input, defaults filled in; bad input is a UsageError
 * "<where>: <field>: <what>, got <value>" naming the first bad field (or the rule two fields break).
 */
export function parseRunConfig(raw: unknown, where: string): RunConfig {
  const r = RunConfigSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`${where}: ${describeIssue("", r.error.issues[0], raw)}`);
  return r.data;
}
