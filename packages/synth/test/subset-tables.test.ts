/**
 * The committed nearest-subset tables (dense scheme → iBug68) are reviewed artifacts: the evaluation
 * recomputes the mapping from the templates, so a generator change that moves it must fail here and
 * get the table re-reviewed (regenerate with core's makeSubsetTable/exportSubsetTable).
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
      const table = parseSubsetTable(readFileSync(file, "utf8"), file, { dense: getScheme(n), ibug: getScheme(68) });
      expect(Array.from(table.indices)).toEqual(Array.from(nearestSubset(getScheme(n), getScheme(68))));
      // iBug's named anchors (jaw ends, eye and mouth corners, nose tip) are points of the dense curves.
      for (const i of [0, 16, 30, 36, 39, 42, 45, 48, 54]) expect(table.distances![i]).toBeLessThan(1e-6);
    });
  }
});
