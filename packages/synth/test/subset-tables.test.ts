/**
 * The committed nearest-subset tables (dense scheme → iBug68) of the procedural face model are reviewed
 * artifacts: the evaluation recomputes the mapping from the templates, so a generator change that moves it
 * must fail here and get the table re-reviewed (regenerate with core's makeSubsetTable/exportSubsetTable).
 * The SFM's tables are not committed (they are derived from the model, which stays out of the repository);
 * synth.test.ts checks their properties at run time.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nearestSubset, parseSubsetTable } from "@lml/core";
import { describe, expect, it } from "vitest";
import { getScheme } from "../src";

const tables = join(dirname(fileURLToPath(import.meta.url)), "..", "tables");

describe("reviewed nearest-subset tables", () => {
  for (const n of [243, 490, 1001]) {
    it(`${n} → iBug68 matches the generator's templates`, () => {
      const file = join(tables, `nearest-subset-${n}-ibug68.json`);
      const dense = getScheme(n, "procedural"), ibug = getScheme(68, "procedural");
      const table = parseSubsetTable(readFileSync(file, "utf8"), file, { dense, ibug });
      expect(Array.from(table.indices)).toEqual(Array.from(nearestSubset(dense, ibug)));
      // iBug's named anchors (jaw ends, eye and mouth corners, nose tip) are points of the dense curves.
      for (const i of [0, 16, 30, 36, 39, 42, 45, 48, 54]) expect(table.distances![i]).toBeLessThan(1e-6);
    });
  }
});
