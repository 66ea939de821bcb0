import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectDatabase,
  getArtifact,
  getRun,
  listGrids,
  migrate,
  putArtifact,
  startEmbeddedServer,
  submitGrid,
  type EmbeddedServer,
} from "../src/index";

const run = promisify(execFile);
const fixture = join(import.meta.dirname, "fixtures", "client-process.ts");
const tsx = join(import.meta.dirname, "..", "..", "..", "node_modules", ".bin", "tsx");

describe("embedded PGlite server", () => {
  let dir: string;
  let server: EmbeddedServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lml-embedded-"));
    server = await startEmbeddedServer({ dataDir: join(dir, "pglite"), port: 0 });
    await migrate(server.url);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to open the same data folder twice in one process", async () => {
    await expect(startEmbeddedServer({ dataDir: server.dataDir, port: 0 })).rejects.toThrow(/already open in this process/);
  });

  it("serves two client processes writing at the same time", async () => {
    const started = Date.now();
    const [a, b] = await Promise.all(["alpha", "beta"].map((tag) => run(tsx, [fixture, server.url, tag, "8"], { timeout: 90_000 })));
    const outA = JSON.parse(a!.stdout.trim().split("\n").pop()!);
    const outB = JSON.parse(b!.stdout.trim().split("\n").pop()!);
    expect(outA.kind).toBe("pglite");
    expect(outA.gridIds).toHaveLength(8);
    expect(outB.gridIds).toHaveLength(8);
    // A third client (this process) sees every grid both wrote, each with its two runs.
    const db = await connectDatabase(server.url);
    try {
      const grids = await listGrids(db.prisma, { take: 100 });
      expect(grids.map((g) => g.id).sort()).toEqual([...outA.gridIds, ...outB.gridIds].sort());
      expect(grids.every((g) => g.total === 2 && g.counts.QUEUED === 2)).toBe(true);
      expect(await db.prisma.metricPoint.count()).toBe(16 * 50);
    } finally {
      await db.close();
    }
    console.log(`two processes x 8 rounds on the embedded server: ${Date.now() - started} ms`);
  }, 120_000);

  // Regression for the pglite-socket interleaving bug fixed in workarounds.ts (serializeExtendedProtocol):
  // a multi-megabyte Bind arrives in several TCP reads, and another client's Parse must not run between.
  it("keeps a large write from one client whole while another client queries", async () => {
    const writer = await connectDatabase(server.url);
    const reader = await connectDatabase(server.url);
    try {
      const grid = await submitGrid(writer.prisma, { name: "big-artifacts" }, null, {
        cells: [{ name: "r", config: { regime: "synthetic-only" } }],
      });
      const { id: runId } = await writer.prisma.run.findFirstOrThrow({ where: { gridId: grid.id } });
      const bytes = new Uint8Array(4_000_000).map((_, i) => i % 251);
      let done = false;
      const reads = (async () => {
        let n = 0;
        while (!done) {
          expect((await getRun(reader.prisma, runId))?.id).toBe(runId);
          n++;
        }
        return n;
      })();
      try {
        for (let i = 0; i < 3; i++) {
          await putArtifact(writer.prisma, { runId, kind: "checkpoint", name: `c${i}`, bytes, mime: "application/octet-stream" });
          const back = await getArtifact(writer.prisma, { runId, kind: "checkpoint", name: `c${i}` });
          expect(back?.size).toBe(bytes.length);
          expect(Buffer.from(back!.bytes!).equals(Buffer.from(bytes))).toBe(true);
        }
      } finally {
        done = true;
      }
      expect(await reads).toBeGreaterThan(0);
    } finally {
      await writer.close();
      await reader.close();
    }
  }, 120_000);

  it("keeps the data in its folder across a restart", async () => {
    const before = await connectDatabase(server.url);
    const count = await before.prisma.grid.count();
    await before.close();
    await server.close();
    server = await startEmbeddedServer({ dataDir: join(dir, "pglite"), port: 0 });
    const after = await connectDatabase(server.url);
    try {
      expect(await after.prisma.grid.count()).toBe(count);
      expect(count).toBeGreaterThan(0);
    } finally {
      await after.close();
    }
  }, 60_000);
});
