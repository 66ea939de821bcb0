import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** Every bare module the file imports, following relative imports. */
function externalImports(file: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(file)) return out;
  seen.add(file);
  const text = readFileSync(join(src, file), "utf8");
  for (const [, spec] of text.matchAll(/(?:import|export)[^"']*from\s+["']([^"']+)["']/g)) {
    if (spec.startsWith("./")) for (const m of externalImports(spec.slice(2) + ".ts", seen)) out.add(m);
    else out.add(spec);
  }
  return out;
}

describe("@lml/core/browser", () => {
  it("pulls in no Node built-ins and no sharp, so client bundles can use it", () => {
    expect([...externalImports("browser.ts")].sort()).toEqual(["jstat", "yaml", "zod"]);
  });
  it("keeps the study vocabulary free of imports, for client components that need only the lists", () => {
    expect([...externalImports("study.ts")]).toEqual([]);
  });
  it("exports the same browser-safe API as the main entry", async () => {
    const browser = await import("../src/browser");
    const main = await import("../src");
    for (const name of [
      "IBUG68",
      "evaluateShapes",
      "comparePaired",
      "parseGridSpec",
      "expandGrid",
      "parsePts",
      "nearestSubset",
      "REGIMES",
      "RunConfigSchema",
      "assertModelConfig",
    ]) {
      // Defined first: undefined === undefined would pass for a name neither entry exports.
      expect(typeof (browser as Record<string, unknown>)[name], name).not.toBe("undefined");
      expect((browser as Record<string, unknown>)[name], name).toBe((main as Record<string, unknown>)[name]);
    }
    // And everything the browser entry exports is the main entry's very object.
    for (const [name, value] of Object.entries(browser)) expect((main as Record<string, unknown>)[name], name).toBe(value);
  });
});
