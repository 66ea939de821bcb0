/**
 * The study's vocabulary, declared once: regimes and their traits, test sets, evaluation protocols and
 * their fallback order, normalisations, metrics and run statuses, each with the label the tables and
 * the dashboard show. Everything else (RunConfig's schema, the trainer, the results tables, the
 * dashboard, `lml report`, the queue) imports these lists instead of restating them.
 *
 * Plain data with no imports, so a client bundle can take it alone (`@lml/core/study`) without zod.
 * The order of each list is the order the tables show it in.
 */

// --- regimes ----------------------------------------------------------------------------------------

/** The four training regimes of the study (RunConfig.regime), in table order. */
export const REGIMES = ["synthetic-only", "syn-real-label-adaptation", "uda-discriminator", "supervised-real"] as const;
export type Regime = (typeof REGIMES)[number];

/** What a regime trains: which data, which labels, which extra networks beside the HourglassNet. */
export interface RegimeTraits {
  /** The study's wording for the regime (table rows, dashboard). */
  label: string;
  /** The model's output: the dense synthetic scheme (`data.scheme` points) or the 68 iBug points. */
  predicts: "dense" | "ibug68";
  /** The labelled split whose epochs drive training. */
  trainsOn: "synthetic" | "real";
  /** Real training images are seen during training (as the labelled split or as a second stream). */
  usesRealImages: boolean;
  /** Real 68-point labels enter the loss. */
  usesRealLabels: boolean;
  /** A label-transfer net maps the dense prediction to 68 points during training (its `direct` output). */
  needsTransferNet: boolean;
  /** A separate domain discriminator is trained adversarially (DANN); DALN reuses the task head instead. */
  needsDiscriminator: boolean;
}

export const REGIME_TRAITS: Readonly<Record<Regime, RegimeTraits>> = {
  "synthetic-only": {
    label: "Synthetic only",
    predicts: "dense",
    trainsOn: "synthetic",
    usesRealImages: false,
    usesRealLabels: false,
    needsTransferNet: false,
    needsDiscriminator: false,
  },
  "syn-real-label-adaptation": {
    label: "Syn+real with label adaptation",
    predicts: "dense",
    trainsOn: "synthetic",
    usesRealImages: true,
    usesRealLabels: true,
    needsTransferNet: true,
    needsDiscriminator: false,
  },
  "uda-discriminator": {
    label: "Unsupervised, with a discriminator",
    predicts: "dense",
    trainsOn: "synthetic",
    usesRealImages: true,
    usesRealLabels: false,
    needsTransferNet: false,
    needsDiscriminator: true,
  },
  "supervised-real": {
    label: "Supervised, real data only",
    predicts: "ibug68",
    trainsOn: "real",
    usesRealImages: true,
    usesRealLabels: true,
    needsTransferNet: false,
    needsDiscriminator: false,
  },
};

export function isRegime(name: string): name is Regime {
  return (REGIMES as readonly string[]).includes(name);
}

/** The traits of a regime. */
export function regimeTraits(regime: Regime): RegimeTraits {
  return REGIME_TRAITS[regime];
}

/**
 * The adaptation regimes: synthetic batches drive the epochs and a stream of real training images runs
 * beside them (labelled for syn-real-label-adaptation, unlabelled for uda-discriminator).
 */
export function streamsRealImages(regime: Regime): boolean {
  const t = REGIME_TRAITS[regime];
  return t.usesRealImages && t.trainsOn === "synthetic";
}

/** Landmarks the model predicts: the dense scheme's count, or 68 for a model that predicts iBug68. */
export function modelPoints(regime: Regime, scheme: number): number {
  return REGIME_TRAITS[regime].predicts === "ibug68" ? 68 : scheme;
}

// --- data domains and test sets ---------------------------------------------------------------------

/** Where images come from: rendered synthetic faces, or real (300-W, or its simulated proxy). */
export const DOMAINS = ["synthetic", "real"] as const;
export type Domain = (typeof DOMAINS)[number];

/**
 * The test sets every run is evaluated on (Evaluation.testSet), in table column order: the study
 * tables' default columns. A dataset without a challenging split has no `challenging` evaluations
 * (its cell reads "no data"; nothing else is put in its place).
 */
export const TEST_SETS = ["synthetic-test", "common", "challenging"] as const;
export type TestSet = (typeof TEST_SETS)[number];

export const TEST_SET_INFO: Readonly<Record<TestSet, { label: string; domain: Domain }>> = {
  "synthetic-test": { label: "Synthetic test", domain: "synthetic" },
  common: { label: "Common test", domain: "real" },
  challenging: { label: "Challenging test", domain: "real" },
};

/**
 * Validation sets, one per domain, for model selection and tuning (never the test sets): carved from
 * the training data by a fixed split seed (RunConfig `data.validation`), disjoint from what a run
 * trains on. Every run is evaluated on them like on the test sets (Evaluation.testSet), but they are
 * a list of their own so that the study tables never show them unless asked (`testSets`).
 */
export const VALIDATION_SETS = ["synthetic-val", "real-val"] as const;
export type ValidationSet = (typeof VALIDATION_SETS)[number];

export const VALIDATION_SET_INFO: Readonly<Record<ValidationSet, { label: string; domain: Domain }>> = {
  "synthetic-val": { label: "Synthetic validation", domain: "synthetic" },
  "real-val": { label: "Real validation", domain: "real" },
};

/** A set a run is evaluated on: a test set or a validation set. */
export type EvalSet = TestSet | ValidationSet;
export const EVAL_SET_INFO: Readonly<Record<EvalSet, { label: string; domain: Domain }>> = { ...TEST_SET_INFO, ...VALIDATION_SET_INFO };

export function isValidationSet(name: string): name is ValidationSet {
  return (VALIDATION_SETS as readonly string[]).includes(name);
}

/** Labels of every split an evaluation may name: the test sets, the validation sets, and "train" (fits, diagnostics). */
export const SPLIT_LABELS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(TEST_SETS.map((t) => [t, TEST_SET_INFO[t].label])),
  ...Object.fromEntries(VALIDATION_SETS.map((t) => [t, VALIDATION_SET_INFO[t].label])),
  train: "Training set",
};

// --- protocols --------------------------------------------------------------------------------------

/**
 * How a model's output becomes points comparable with a test set's GT (Evaluation.protocol):
 * `dense` = the model's own dense points (synthetic GT only); `nearest-subset` = for each iBug68 point
 * the nearest dense point; `test-time-mlp` = a label-transfer MLP fitted on real train predictions;
 * `direct` = 68 points the model outputs itself (a 68-point model, or a label-transfer head).
 */
export const PROTOCOLS = ["dense", "nearest-subset", "test-time-mlp", "direct"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const PROTOCOL_LABELS: Readonly<Record<Protocol, string>> = {
  "nearest-subset": "Nearest-subset mapping",
  "test-time-mlp": "Test-time label adaptation (MLP)",
  dense: "Dense (all synthetic points)",
  direct: "Direct 68-point prediction",
};

/** The study's two tables, one per protocol, in order. */
export const TABLE_PROTOCOLS = ["nearest-subset", "test-time-mlp"] as const satisfies readonly Protocol[];

/**
 * The protocols a table cell tries for one run, in order: the table's own, else one that does not
 * depend on the mapping — `direct` (a 68-point model needs none) or, on a synthetic test set, `dense`
 * (the synthetic points themselves; the study shows that number in both tables).
 */
export function protocolFallback(protocol: string, testSet: string): string[] {
  const synthetic = (EVAL_SET_INFO as Record<string, { domain: Domain } | undefined>)[testSet]?.domain === "synthetic";
  return [protocol, "direct", ...(synthetic ? ["dense"] : [])];
}

/** "The best available 68-point protocol of a run": the first of these it has (dense is not 68-point). */
export const BEST_PROTOCOL_ORDER = ["test-time-mlp", "nearest-subset", "direct"] as const satisfies readonly Protocol[];

/** The first protocol of BEST_PROTOCOL_ORDER among `available`, else the first available one. */
export function bestProtocol(available: readonly string[]): string | undefined {
  return BEST_PROTOCOL_ORDER.find((p) => available.includes(p)) ?? available[0];
}

// --- normalisations ---------------------------------------------------------------------------------

/** Normalising distances of NME (core's `normaliserOf` computes them from iBug68 GT). */
export const NORM_KINDS = ["inter-pupil", "inter-ocular", "bbox"] as const;
export type NormKind = (typeof NORM_KINDS)[number];

export const NORM_LABELS: Readonly<Record<NormKind, string>> = {
  "inter-pupil": "Inter-pupil",
  "inter-ocular": "Inter-ocular",
  bbox: "Bounding box",
};

/** The normalisations the trainer evaluates every run under (the study reports inter-pupil). */
export const EVAL_NORMS = ["inter-pupil", "inter-ocular"] as const satisfies readonly NormKind[];
export type EvalNorm = (typeof EVAL_NORMS)[number];
export const DEFAULT_NORM: EvalNorm = "inter-pupil";

// --- metrics ----------------------------------------------------------------------------------------

/** Summary metrics of one evaluation (Evaluation's columns), in table order. */
export const METRICS = ["nme", "auc8", "fr8", "auc10", "fr10"] as const;
export type Metric = (typeof METRICS)[number];

export const METRIC_INFO: Readonly<Record<Metric, { label: string; lowerIsBetter: boolean }>> = {
  nme: { label: "NME (%)", lowerIsBetter: true },
  auc8: { label: "AUC@8 (%)", lowerIsBetter: false },
  fr8: { label: "FR@8 (%)", lowerIsBetter: true },
  auc10: { label: "AUC@10 (%)", lowerIsBetter: false },
  fr10: { label: "FR@10 (%)", lowerIsBetter: true },
};

/** AUC grows with quality; NME and failure rate shrink. */
export function lowerIsBetter(metric: Metric): boolean {
  return METRIC_INFO[metric].lowerIsBetter;
}

// --- run statuses -----------------------------------------------------------------------------------

/** A run's place in the queue (Prisma's RunStatus enum holds the same names; a db test checks it). */
export const RUN_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];
/** Waiting for or holding a worker: the dashboard polls while any run is in one of these. */
export const ACTIVE_STATUSES = ["QUEUED", "RUNNING"] as const satisfies readonly RunStatusName[];
/** Finished: nothing changes until someone requeues the run (FAILED, CANCELED). */
export const TERMINAL_STATUSES = ["SUCCEEDED", "FAILED", "CANCELED"] as const satisfies readonly RunStatusName[];

/** Finished without results: `requeueRun` (the dashboard's Re-queue, `lml grid requeue`) puts these back. */
export const REQUEUEABLE_STATUSES = ["FAILED", "CANCELED"] as const satisfies readonly RunStatusName[];

export function isActiveStatus(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}
export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
export function isRequeueableStatus(status: string): boolean {
  return (REQUEUEABLE_STATUSES as readonly string[]).includes(status);
}
