/**
 * The run queue. PostgreSQL is the coordinator (no broker): a Run row is the job, and its lease
 * (`leaseOwner`, `leaseExpiresAt`) says which worker holds it until when. One module per stage:
 *
 *   submit.ts       submitGrid, resolveGrid, gridStatus
 *   lease.ts        claimNextRun, renewLease, releaseLease, requeueExpired, heldLeases
 *   complete.ts     completeRun, failRun, markCanceled
 *   cancel.ts       cancelRun, cancelGrid, requeueRun
 *   checkpoints.ts  saveCheckpoint, loadCheckpoint
 *   workers.ts      registerWorker, heartbeatWorker, stopWorker, liveWorkerCount
 *
 * Life of a run:
 *   QUEUED --claimNextRun--> RUNNING --completeRun--> SUCCEEDED
 *                            RUNNING --failRun------> QUEUED (retry) | FAILED (attempts used up, or retry: false)
 *                            RUNNING --lease expires, requeueExpired--> QUEUED | FAILED
 *                            RUNNING --releaseLease (SIGTERM)-------> QUEUED (attempt not counted)
 *   QUEUED --cancelRun--> CANCELED;   RUNNING --cancelRun--> cancelRequested, worker --markCanceled--> CANCELED
 *                                      (or completeRun finds cancelRequested --> CANCELED, no results)
 *   FAILED | CANCELED --requeueRun--> QUEUED
 *
 * Every lease-holder write is guarded by `leaseOwner = workerId AND status = 'RUNNING'`, so a worker
 * that lost its lease (it was cut off and another worker took the run over) can never overwrite the
 * run or write a second set of results. Lease times are computed by the database clock, never the
 * worker's, so clock skew between machines cannot shorten or stretch a lease (run-row.ts's NOW).
 * Results, curves and artifacts are written through the repositories (../repositories), the one
 * writer of each table.
 */
export { RUN_STATUSES, type RunStatusName } from "@lml/core";
export type { AttemptError } from "./run-row";
export * from "./submit";
export * from "./lease";
export * from "./complete";
export * from "./cancel";
export * from "./checkpoints";
export * from "./workers";
