/**
 * The datasets router and the data-path check at submit (issue 12, 16.1): known datasets with their
 * splits, counts and provenance text; registration behind the token; a spec reading outside the dataset
 * roots refused at preview and at submit, its message quoting no file.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describeEachDatabase } from "@lml/db/testing";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createCaller, type Context } from "../src/index";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68");
const saved = { LML_DATASETS: process.env.LML_DATASETS, LML_DATA_DIR: process.env.LML_DATA_DIR };
let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "lml-api-datasets-"));
  for (const [split, names] of [
    ["train", ["einstein", "breakingbad"]],
    ["common", ["einstein"]],
  ] as const) {
    await mkdir(join(base, "roots", "faces", split), { recursive: true });
    for (const n of names)
      for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `${n}.${ext}`), join(base, "roots", "faces", split, `${n}.${ext}`));
  }
  await writeFile(join(base, "roots", "faces", "SOURCE.md"), "# faces\nTerms: research use only.\n");
  process.env.LML_DATASETS = join(base, "roots");
  process.env.LML_DATA_DIR = join(base, "data");
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
  return "OK";
}

const spec = (real: string) => `
name: real-study
method: grid
parameters:
  regime: [supervised-real]
defaults:
  data: { real: ${real} }
`;

let blocks = 0;
describeEachDatabase("datasets router", (db) => {
  const calls: unknown[] = [];
  // Statistics are cached per server process: each database's block asks for its own count.
  const count = 8 + blocks++;
  const ctx = (extra: Partial<Context> = {}): Context => ({
    prisma: db().prisma,
    datasetTools: {
      domainStats: async (o) => {
        calls.push(o);
        return { domain: o.domain, count: o.count };
      },
    },
    ...extra,
  });
  const api = () => createCaller(ctx());

  it("refuses the reported leak at preview and submit — dir /etc, trainList /etc/passwd — quoting nothing (16.1)", async () => {
    const text = spec("{ source: 300w, dir: /etc, trainList: /etc/passwd }");
    const preview = await api().grids.preview({ text, fileName: "leak.yaml" });
    expect(preview).toEqual({
      ok: false,
      error: expect.stringMatching(/^leak\.yaml: cell 0: data\.real\.dir: \/etc is outside every dataset root/),
    });
    await expect(api().grids.submit({ text, fileName: "leak.yaml" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    expect(await db().prisma.run.count()).toBe(0);
    expect(!preview.ok && preview.error).not.toMatch(/root:|bash/);
    // a list file outside the roots, beside a legal folder
    const list = await api().grids.preview({
      text: spec(`{ source: 300w, dir: ${join(base, "roots", "faces")}, trainList: /etc/passwd }`),
      fileName: "l.yaml",
    });
    expect(!list.ok && list.error).toMatch(/^l\.yaml: cell 0: data\.real\.trainList: \/etc\/passwd is outside every dataset root/);
    // inside a root: accepted and queued
    const ok = await api().grids.submit({ text: spec(`{ source: 300w, dir: ${join(base, "roots", "faces")} }`), fileName: "ok.yaml" });
    expect(ok.runs).toBe(1);
  });

  it("lists the known datasets with splits and counts, and one with its provenance text", async () => {
    const list = await api().datasets.list();
    expect(list.map((d) => [d.name, d.origin, d.hasSource, d.splits.map((s) => `${s.split}:${s.count}`)])).toEqual([
      ["faces", "LML_DATASETS", true, ["train:2", "common:1"]],
    ]);
    const one = await api().datasets.get({ name: "faces" });
    expect(one.sourceText).toContain("Terms: research use only.");
    expect(await code(api().datasets.get({ name: "nope" }))).toBe("NOT_FOUND");
  });

  it("computes statistics with the injected tool for the dataset and both generated domains, once", async () => {
    const s = await api().datasets.stats({ name: "faces", split: "common", count });
    expect(s).toEqual({
      dataset: { domain: "300w", count },
      synthetic: { domain: "synthetic", count },
      proxyReal: { domain: "proxy-real", count },
    });
    expect(calls).toContainEqual({ domain: "300w", dir: join(base, "roots", "faces"), split: "common", count, size: 128 });
    const before = calls.length;
    await api().datasets.stats({ name: "faces", split: "common", count });
    expect(calls.length).toBe(before);
    expect(await code(api().datasets.stats({ name: "faces", split: "challenging" }))).toBe("NOT_FOUND");
  });

  it("registers a folder only with the token when one is set, and only a dataset folder", async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), "lml-api-registered-"));
    await mkdir(join(elsewhere, "train"));
    for (const ext of ["jpg", "pts"]) await copyFile(join(FIXTURES, `einstein.${ext}`), join(elsewhere, "train", `einstein.${ext}`));
    const locked = (token: string | null) => createCaller(ctx({ requiredToken: "s3cret", token }));
    expect(await code(locked(null).datasets.register({ name: "mine", path: elsewhere }))).toBe("UNAUTHORIZED");
    expect(await code(locked("s3cret").datasets.register({ name: "etc", path: "/etc" }))).toBe("BAD_REQUEST");
    await locked("s3cret").datasets.register({ name: "mine", path: elsewhere });
    expect((await api().datasets.list()).map((d) => d.name)).toEqual(["faces", "mine"]);
    // now a spec may read it
    const p = await api().grids.preview({ text: spec(`{ source: 300w, dir: ${elsewhere} }`), fileName: "m.yaml" });
    expect(p.ok).toBe(true);
    expect(await code(locked(null).datasets.unregister({ name: "mine" }))).toBe("UNAUTHORIZED");
    await locked("s3cret").datasets.unregister({ name: "mine" });
    expect((await api().grids.preview({ text: spec(`{ source: 300w, dir: ${elsewhere} }`), fileName: "m.yaml" })).ok).toBe(false);
  });
});
