import { z } from "zod";

/**
 * The configuration of one training run: every knob the trainer has, with its default.
 * Shared by `lml train --config`, grid specs (whose cells are partial RunConfigs), the worker and the
 * dashboard. Units: images are square, sizes in pixels; learning rates per optimiser step.
 */
export const REGIMES = [
  "synthetic-only",
  "syn-real-label-adaptation",
  "uda-discriminator",
  "supervised-real",
] as const;
export const RegimeSchema = z.enum(REGIMES);
export type Regime = z.infer<typeof RegimeSchema>;

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
  })
  .strict();
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

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

export const RealDataSchema = z.discriminatedUnion("source", [
  /** Simulated stand-in for 300-W from @lml/synth (labelled as simulated everywhere it is shown). */
  z.object({ source: z.literal("proxy-real") }).strict(),
  /** A 300-W folder in the .pts layout; split lists optional. */
  z
    .object({
      source: z.literal("300w"),
      dir: z.string().min(1),
      trainList: z.string().optional(),
      commonList: z.string().optional(),
      challengingList: z.string().optional(),
    })
    .strict(),
]);

export const DataConfigSchema = z
  .object({
    /** Dense synthetic scheme (point count) the model predicts; 68 for the supervised-real regime. */
    scheme: z.number().int().min(68).max(2000).default(490),
    /** Synthetic training images (rendered once, cached). */
    syntheticTrain: z.number().int().min(1).default(2000),
    syntheticTest: z.number().int().min(1).default(200),
    /** Real (or proxy-real) images: training split (labels used only by regimes that may). */
    realTrain: z.number().int().min(1).default(500),
    realCommon: z.number().int().min(1).default(200),
    realChallenging: z.number().int().min(1).default(100),
    real: RealDataSchema.default({ source: "proxy-real" }),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    epochs: z.number().int().min(1).default(10),
    batchSize: z.number().int().min(1).max(256).default(16),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().min(0).default(0),
    /** Loss weights: heatmap cross-entropy (spatial softmax vs a Gaussian target), coordinate L1 (soft-argmax), label-transfer, DALN, discriminator. */
    heatmapWeight: z.number().min(0).default(1),
    coordWeight: z.number().min(0).default(1),
    labelWeight: z.number().min(0).default(1),
    dalnWeight: z.number().min(0).default(0.1),
    discWeight: z.number().min(0).default(0.1),
    /** Adversarial ramp: lambda = tanh(step / rampSteps). */
    rampSteps: z.number().int().min(1).default(2000),
    /**
     * Label-transfer network of syn-real-label-adaptation (dense prediction -> iBug68):
     * "mlp" = an MLP on the soft-argmax coordinates (hidden width `eval.mlpHidden`);
     * "unet" = a small U-Net-like encoder-decoder on the dense heatmaps' spatial softmax that outputs 68
     * heatmaps, read out by soft-argmax. Both start as the nearest-subset mapping.
     */
    labelTransfer: z.enum(["mlp", "unet"]).default("mlp"),
    /** Standard deviation of the Gaussian heatmap targets, in heatmap cells (wider blurs neighbouring dense points together, narrower gives little gradient off-peak). */
    heatmapSigma: z.number().positive().max(16).default(1),
    /** Learning-rate schedule: "cosine" decays from lr to lr/10 over the run; "constant" keeps lr. */
    lrSchedule: z.enum(["cosine", "constant"]).default("cosine"),
    /** Hidden width of the DANN domain discriminator (uda-discriminator). */
    discHidden: z.number().int().min(1).default(64),
    augment: AugmentConfigSchema.default(AugmentConfigSchema.parse({})),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** Evaluate every N epochs during training (0 = only at the end). */
    everyEpochs: z.number().int().min(0).default(0),
    /** Test-time MLP (dense -> iBug68) training epochs and hidden width. */
    mlpEpochs: z.number().int().min(1).default(200),
    mlpHidden: z.number().int().min(8).default(256),
  })
  .strict();

export const RunConfigSchema = z
  .object({
    regime: RegimeSchema,
    seed: z.number().int().min(0).default(1),
    model: ModelConfigSchema.default(ModelConfigSchema.parse({})),
    data: DataConfigSchema.default(DataConfigSchema.parse({})),
    train: TrainConfigSchema.default(TrainConfigSchema.parse({})),
    eval: EvalConfigSchema.default(EvalConfigSchema.parse({})),
  })
  .strict();
export type RunConfig = z.infer<typeof RunConfigSchema>;
/** What a user writes: every field but the regime may be left out. */
export type RunConfigInput = z.input<typeof RunConfigSchema>;
