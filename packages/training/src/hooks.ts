/**
 * The contract between `train()` and whoever runs it (`lml train`, the queue worker, tests): the hooks
 * a run reports through, what it returns, and how it stops on request. Declared once here, without
 * tfjs, so the worker loop can type against it without loading the engine.
 */
import type { RunConfig } from "@lml/core";
import type { EvaluationRecord } from "./evaluate";
import type { SampleArtifact } from "./samples";

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  imagesPerSec: number;
}

/** One point of a curve: train/loss[/part], train/lr, train/images_per_sec, eval/<set>/<protocol>/<norm>/nme. */
export interface MetricPoint {
  name: string;
  step: number;
  epoch?: number;
  value: number;
}

/** Where a run's checkpoint lives: opaque bytes (weights + optimiser + RNG + data cursor, see state.ts). */
export interface CheckpointStore {
  /** The latest checkpoint of this run (from an earlier attempt), or null to start from step 0. */
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array, step: number): Promise<void>;
}

export interface TrainHooks {
  /** After every step. */
  onProgress?(progress: TrainProgress): void | Promise<void>;
  /** Loss parts about ten times an epoch, evaluation NMEs after each evaluation. */
  onMetric?(points: MetricPoint[]): void | Promise<void>;
  checkpoint?: CheckpointStore;
  /** Polled after each step: true makes the run checkpoint, then throw StopRequested. */
  shouldStop?(): boolean | Promise<boolean>;
}

/** Thrown by `train` after it saved a checkpoint because `shouldStop` asked it to. */
export class StopRequested extends Error {
  constructor(readonly step: number) {
    super(`training stopped on request after step ${step} (checkpoint saved)`);
    this.name = "StopRequested";
  }
}

export interface TrainResult {
  backend: string;
  steps: number;
  /** One per (test set, protocol, norm) of the final evaluation: the Prisma `Evaluation` fields. */
  evaluations: EvaluationRecord[];
  seconds: number;
  /** CPU seconds of the training process during the run (all its threads); absent from stand-ins. */
  cpuSeconds?: number;
  /** PNG strips of sample predictions on the test sets (final evaluation), one per test set, and the fitted test-time MLP. */
  artifacts: TrainArtifact[];
}

/** A file a run keeps: a sample strip, or a model part (kind "model": the test-time MLP, test-time-mlp.ts). */
export type TrainArtifact = SampleArtifact | { kind: "model"; name: string; mime: "application/octet-stream"; bytes: Uint8Array };

/** `train` itself, or a stand-in with the same contract (the queue tests' step trainer). */
export type TrainFunction = (config: RunConfig, hooks: TrainHooks) => Promise<TrainResult>;
