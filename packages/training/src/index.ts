/**
 * @lml/training: the training engine. `train(config, hooks)` trains and evaluates one parsed RunConfig
 * (README.md); the queue worker is `@lml/training/worker`, which loads no tfjs until it trains.
 */
export { train } from "./train";
export {
  StopRequested,
  type CheckpointStore,
  type MetricPoint,
  type TrainFunction,
  type TrainHooks,
  type TrainProgress,
  type TrainArtifact,
  type TrainResult,
} from "./hooks";
export { folderCheckpointStore } from "./checkpoint";
export type { EvaluationRecord } from "./evaluate";
export type { SampleArtifact } from "./samples";
export {
  PREDICT_PROTOCOLS,
  loadPredictor,
  predictFolder,
  predictorFromPath,
  predictorFromRun,
  type PredictOptions,
  type PredictOutcome,
  type PredictProtocol,
  type Predictor,
  type PredictorSource,
} from "./predict";
