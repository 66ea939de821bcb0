/**
 * What the training thread and the lease-keeping thread (lease-thread.ts) say to each other: messages
 * one way, a state word in shared memory the other way (readable between two steps without waiting
 * for the event loop). The word is `generation * LEASE_STATE.span + state`: each kept run has its own
 * generation, so a state reported for an earlier run is never read as the current one's.
 */
import type { ProgressUpdate } from "@lml/db";

export const LEASE_STATE = {
  /** Lease renewed (or not yet reported). */
  ok: 0,
  /** The lease is gone: expired and taken back, or the run ended elsewhere. Stop, write nothing. */
  lost: 1,
  /** A cancel was requested: stop at the next step, mark CANCELED. */
  cancel: 2,
  /** The training thread did not answer for `stallMs`: the lease is left to expire. */
  stalled: 3,
  span: 4,
} as const;

export type LeaseStateName = "ok" | "lost" | "cancel" | "stalled";

export function leaseStateName(state: number): LeaseStateName {
  return state === LEASE_STATE.lost ? "lost" : state === LEASE_STATE.cancel ? "cancel" : state === LEASE_STATE.stalled ? "stalled" : "ok";
}

export interface LeaseThreadData {
  url: string;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  stallMs: number;
  logLevel: string;
  /** One Int32: the state word. */
  flags: SharedArrayBuffer;
}

/** Training thread -> lease thread. Every message also tells the lease thread the training thread is alive. */
export type KeeperMessage =
  | { type: "keep"; runId: string; generation: number; progress?: ProgressUpdate }
  | { type: "progress"; generation: number; progress: ProgressUpdate }
  | { type: "alive" }
  | { type: "release"; generation: number }
  | { type: "close" };

/** Lease thread -> training thread. */
export type ThreadMessage = { type: "ready" } | { type: "released"; generation: number } | { type: "failed"; error: string };
