/**
 * The dlib peer: dlib68.cpp compiled against the system dlib (into the gitignored scripts/peers/build),
 * run once over all crops.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PixelBox } from "./crops";
import { cxx, DLIB_MODEL, peersDir } from "./prerequisites";

export const DLIB_SOURCE = join(peersDir, "dlib68.cpp");
export const DLIB_BINARY = join(peersDir, "build", "dlib68");
/** The most pyramid_up steps tried: 0 first (dlib's Python default), one more each time no face is found. */
export const DLIB_MAX_UPSAMPLE = 2;

/** Compiles dlib68 when it is missing or older than its source; returns the compiler command used. */
export function buildDlib(log: (line: string) => void): string {
  const pc = spawnSync("pkg-config", ["--cflags", "--libs", "dlib-1"], { encoding: "utf8" });
  const flags = pc.stdout.trim().split(/\s+/).filter(Boolean);
  const args = ["-O2", "-std=c++17", DLIB_SOURCE, ...flags, "-o", DLIB_BINARY];
  const command = [cxx(), ...args].join(" ");
  if (existsSync(DLIB_BINARY) && statSync(DLIB_BINARY).mtimeMs >= statSync(DLIB_SOURCE).mtimeMs) return command;
  mkdirSync(join(peersDir, "build"), { recursive: true });
  log(`dlib: compiling ${DLIB_BINARY} (once; about a minute)`);
  const r = spawnSync(cxx(), args, { encoding: "utf8", stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`dlib: compiling failed (exit ${r.status}): ${command}`);
  return command;
}

export interface DlibImage {
  stem: string;
  detected: boolean;
  /** pyramid_up steps at which the face was found (meaningless when not detected). */
  upsample: number;
  detections: number;
}

/** Runs dlib on the crops, writing <outDir>/<stem>.pts; `box` is the fallback when no face is found. */
export function runDlib(testDir: string, stems: readonly string[], outDir: string, box: PixelBox): DlibImage[] {
  // dlib rectangles are inclusive pixel ranges.
  const rect = [box.x0, box.y0, box.x1 - 1, box.y1 - 1].map(String);
  const input = stems.map((s) => join(testDir, `${s}.jpg`)).join("\n") + "\n";
  const r = spawnSync(DLIB_BINARY, [DLIB_MODEL, outDir, String(DLIB_MAX_UPSAMPLE), ...rect], {
    input,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`dlib68 failed (exit ${r.status}): ${r.stderr.trim()}`);
  const rows = r.stdout
    .trim()
    .split("\n")
    .map((line) => line.split("\t"));
  if (rows.length !== stems.length) throw new Error(`dlib68 reported ${rows.length} images of ${stems.length}`);
  return rows.map(([stem, status, upsample, detections]) => ({
    stem,
    detected: status === "detected",
    upsample: Number(upsample),
    detections: Number(detections),
  }));
}
