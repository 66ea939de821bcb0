/** The queue worker (`@lml/training/worker`): loads no tfjs until a worker process starts training. */
export {
  createLogger,
  DEFAULT_LEASE_MS,
  defaultWorkerId,
  runWorker,
  type RunOutcome,
  type WorkerOptions,
  type WorkerSummary,
} from "./loop";
export { openQueueDatabase, parseWorkerFlags, runWorkerProcess, type WorkerFlags, type WorkerProcessOptions } from "./process";
export { StopRequested, type TrainFunction, type TrainHooks, type TrainResult } from "../hooks";
