/**
 * The lease-keeping thread (a worker_thread; lease-keeper.ts starts it): renews the lease of the run
 * its worker holds and the Worker row's heartbeat on its own database connection, every heartbeat
 * period, whatever the training thread is doing — rendering a data set or one long step blocks that
 * thread's event loop for minutes, and a lease renewed there would expire under a live worker (issue
 * 16.4). It reports a lost lease or a cancel request through shared memory, which the training thread
 * reads between steps without waiting for its event loop.
 *
 * A training thread that stops answering altogether (no message for `stallMs`) is treated as hung:
 * the lease is left to expire, with a log line that says so, so that another worker can take the run.
 */
import { parentPort, workerData } from "node:worker_threads";
// The client and the two queue calls alone (not @lml/db's index, which loads @lml/core, the embedded
// server and migrations): the thread starts in about half the time.
import { createPrismaClient, type PrismaClient } from "@lml/db/client";
import { heartbeatWorker, renewLease, type ProgressUpdate } from "@lml/db/lease-keeping";
import pino from "pino";
import { errorText } from "./error-text";
import { sleep } from "./wait";
import { LEASE_STATE, type KeeperMessage, type LeaseThreadData } from "./lease-protocol";

const data = workerData as LeaseThreadData;
const flags = new Int32Array(data.flags);
const log = pino({ name: "lml-worker", level: data.logLevel }, pino.destination(2)).child({ worker: data.workerId, thread: "lease" });

interface Held {
  runId: string;
  generation: number;
  progress?: ProgressUpdate;
}

let held: Held | null = null;
let lastHeard = Date.now();
let closing = false;
/** Aborted to cut the wait between heartbeats short (a new run to keep, a release, close). */
let wakeUp = new AbortController();
/** Generations released by the training thread, acknowledged once no renewal for them is in flight. */
const pending: number[] = [];

function report(h: Held, state: number): void {
  Atomics.store(flags, 0, h.generation * LEASE_STATE.span + state);
}

/** One heartbeat: the held run's lease (with its progress), then the Worker row. */
async function beat(prisma: PrismaClient): Promise<void> {
  const h = held;
  if (h) {
    const silentMs = Date.now() - lastHeard;
    if (silentMs > data.stallMs) {
      // Hung: stop renewing, so that the lease expires and another worker takes the run. The expiry is
      // recorded as "alive but did not renew the lease (see its log)", and this is the log.
      log.error(
        { run: h.runId, silentMs, step: h.progress?.step },
        `the training thread did not respond for ${Math.round(silentMs / 1000)} s: letting the lease expire so that another worker can take the run`,
      );
      report(h, LEASE_STATE.stalled);
      if (held === h) held = null;
    } else {
      const state = await renewLease(prisma, h.runId, data.workerId, data.leaseMs, h.progress);
      if (!state.owned) {
        // The training thread logs a loss it did not cause (its run's end writes also end the lease).
        log.debug({ run: h.runId }, "lease no longer held");
        report(h, LEASE_STATE.lost);
        if (held === h) held = null;
      } else if (state.cancelRequested) report(h, LEASE_STATE.cancel);
    }
  }
  await heartbeatWorker(prisma, data.workerId, held?.runId ?? null);
}

parentPort!.on("message", (m: KeeperMessage) => {
  lastHeard = Date.now();
  if (m.type === "keep") {
    held = { runId: m.runId, generation: m.generation, progress: m.progress };
    wakeUp.abort(); // renew at once: the claim's lease started counting before this thread heard of it
  } else if (m.type === "progress") {
    if (held && held.generation === m.generation) held.progress = m.progress;
  } else if (m.type === "release") {
    if (held?.generation === m.generation) held = null;
    // Acknowledged from the loop, after any renewal in flight for this run has settled.
    pending.push(m.generation);
    wakeUp.abort();
  } else if (m.type === "close") {
    closing = true;
    wakeUp.abort();
  }
});

async function main(): Promise<void> {
  // No probe: a database away now is retried by the loop below, like any failed heartbeat.
  const prisma = createPrismaClient(data.url, { poolMax: 1 });
  parentPort!.postMessage({ type: "ready" });
  let failures = 0;
  while (!closing) {
    try {
      await beat(prisma);
      if (failures > 0) log.info({ failures }, "database reachable again");
      failures = 0;
    } catch (err) {
      failures++;
      log.warn({ failures, err: errorText(err) }, "heartbeat failed; training continues, retrying");
    }
    for (const generation of pending.splice(0)) parentPort!.postMessage({ type: "released", generation });
    if (closing) break;
    wakeUp = new AbortController();
    await sleep(failures === 0 ? data.heartbeatMs : Math.min(data.heartbeatMs, 250 * 2 ** failures), wakeUp.signal);
  }
  for (const generation of pending.splice(0)) parentPort!.postMessage({ type: "released", generation });
  await prisma.$disconnect();
}

main().then(
  // The message listener would keep the thread alive.
  () => process.exit(0),
  (err: unknown) => {
    parentPort!.postMessage({ type: "failed", error: errorText(err) });
    process.exit(1);
  },
);
