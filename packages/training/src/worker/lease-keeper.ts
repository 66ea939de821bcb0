/**
 * The training thread's side of lease keeping: starts the lease-keeping thread (lease-thread.ts) on
 * its own database connection, tells it which run to keep and the progress reached, and reads back —
 * synchronously, between two steps — whether the lease was lost or a cancel requested.
 */
import { Worker } from "node:worker_threads";
import type { ProgressUpdate } from "@lml/db";
import type { Logger } from "pino";
import {
  LEASE_STATE,
  leaseStateName,
  type KeeperMessage,
  type LeaseStateName,
  type LeaseThreadData,
  type ThreadMessage,
} from "./lease-protocol";

export interface LeaseKeeperOptions {
  /** The database (password included): the thread opens its own connection. */
  url: string;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  /** Give a run up when the training thread has not answered for this long. */
  stallMs: number;
  log: Logger;
}

/** One run the keeper holds the lease of, until `release()`. */
export interface KeptLease {
  /** "failed": the lease-keeping thread itself failed, so nobody renews the lease: stop. */
  state(): LeaseStateName | "failed";
  /** The progress the next renewal stores (and a sign of life of the training thread). */
  progress(p: ProgressUpdate): void;
  /** A sign of life of the training thread (from its event loop, between steps). */
  alive(): void;
  /** Stops renewing this run's lease; resolves once no renewal for it is in flight. */
  release(): Promise<void>;
}

export class LeaseKeeper {
  private readonly thread: Worker;
  private readonly flags = new Int32Array(new SharedArrayBuffer(4));
  private generation = 0;
  private failure: string | null = null;
  private readonly released = new Map<number, () => void>();
  private readonly exited: Promise<void>;
  /** Resolves once the thread is connected and renewing; rejects if it cannot start. Claim only after it. */
  readonly ready: Promise<void>;
  private readyState: { resolve(): void; reject(err: Error): void } | null = null;

  constructor(private readonly opts: LeaseKeeperOptions) {
    const data: LeaseThreadData = {
      url: opts.url,
      workerId: opts.workerId,
      leaseMs: opts.leaseMs,
      heartbeatMs: opts.heartbeatMs,
      stallMs: opts.stallMs,
      logLevel: opts.log.level,
      flags: this.flags.buffer as SharedArrayBuffer,
    };
    this.ready = new Promise((resolve, reject) => (this.readyState = { resolve, reject }));
    this.ready.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    this.thread = new Worker(new URL("./lease-thread.mjs", import.meta.url), { workerData: data });
    this.thread.on("message", (m: ThreadMessage) => {
      if (m.type === "ready") this.readyState?.resolve();
      else if (m.type === "released") this.settle(m.generation);
      else if (m.type === "failed") this.fail(m.error);
    });
    this.thread.on("error", (err) => this.fail(err.stack ?? String(err)));
    this.exited = new Promise((resolve) =>
      this.thread.once("exit", (code) => {
        if (code !== 0 && !this.failure) this.fail(`exited with code ${code}`);
        for (const g of [...this.released.keys()]) this.settle(g);
        resolve();
      }),
    );
  }

  /** Why the thread failed (leases are no longer renewed), or null while it works. */
  get failed(): string | null {
    return this.failure;
  }

  private fail(error: string): void {
    if (this.failure) return;
    this.failure = error;
    this.readyState?.reject(new Error(`the lease-keeping thread could not start: ${error}`));
    this.opts.log.error({ err: error }, "the lease-keeping thread failed: leases are no longer renewed");
    for (const g of [...this.released.keys()]) this.settle(g);
  }

  private settle(generation: number): void {
    this.released.get(generation)?.();
    this.released.delete(generation);
  }

  private post(m: KeeperMessage): void {
    if (!this.failure) this.thread.postMessage(m);
  }

  /** Keeps `runId`'s lease (just claimed, so held) from now until the returned lease's release(). */
  keep(runId: string, progress?: ProgressUpdate): KeptLease {
    const generation = ++this.generation;
    this.post({ type: "keep", runId, generation, progress });
    let released: Promise<void> | null = null;
    return {
      state: () => {
        if (this.failure) return "failed";
        const word = Atomics.load(this.flags, 0);
        return Math.floor(word / LEASE_STATE.span) === generation ? leaseStateName(word % LEASE_STATE.span) : "ok";
      },
      progress: (p) => this.post({ type: "progress", generation, progress: p }),
      alive: () => this.post({ type: "alive" }),
      release: () => {
        released ??= this.failure
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.released.set(generation, resolve);
              this.post({ type: "release", generation });
            });
        return released;
      },
    };
  }

  /** Stops the thread (it closes its connection first; a failed or unresponsive one is terminated). */
  async close(): Promise<void> {
    if (this.failure) void this.thread.terminate();
    else this.thread.postMessage({ type: "close" } satisfies KeeperMessage);
    const timeout = setTimeout(() => void this.thread.terminate(), 10_000);
    await this.exited;
    clearTimeout(timeout);
  }
}
