/**
 * What a worker's lease-keeping thread calls (@lml/training's worker/lease-thread.ts), importable
 * without the rest of @lml/db and without @lml/core, so that the thread starts quickly.
 */
export { renewLease, type LeaseState, type ProgressUpdate } from "./lease";
export { heartbeatWorker } from "./workers";
