/**
 * What each peer needs on this machine, checked before anything runs. Nothing is installed here: a missing
 * piece is reported with the exact command that provides it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PeerKey } from "@lml/api/reference";

export const peersDir = dirname(fileURLToPath(import.meta.url));

/** Debian's packaged dlib model (libdlib-data): the 68-point ERT trained on iBUG 300-W. */
export const DLIB_MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

/**
 * The apt packages dlib needs. Debian's dlib-1.pc links libblas.so and liblapack.so, which libdlib-dev
 * does not pull in, hence the two -dev packages.
 */
export const DLIB_APT = "apt-get install libdlib-dev libdlib-data libblas-dev liblapack-dev g++ pkg-config";
export const FACE_API_INSTALL = "npm ci --prefix scripts/peers/face-api";

export interface Missing {
  what: string;
  fix: string;
}

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

export function cxx(): string {
  return process.env.CXX || "c++";
}

/** What the dlib peer lacks: compiler, pkg-config, dlib headers and libraries, the model file. */
export function missingForDlib(model = DLIB_MODEL): Missing[] {
  const missing: Missing[] = [];
  if (!sh(cxx(), ["--version"]).ok) missing.push({ what: `a C++ compiler (${cxx()}; set CXX to use another)`, fix: DLIB_APT });
  const pc = sh("pkg-config", ["--cflags", "--libs", "dlib-1"]);
  if (!pc.ok) missing.push({ what: "dlib's headers and library (pkg-config dlib-1)", fix: DLIB_APT });
  else
    for (const lib of pc.out.split(/\s+/).filter((t) => t.startsWith("/")))
      if (!existsSync(lib)) missing.push({ what: `${lib} (named by dlib-1.pc)`, fix: DLIB_APT });
  if (!existsSync(model)) missing.push({ what: `the dlib 68-point model ${model}`, fix: DLIB_APT });
  return missing;
}

/**
 * face-api.js and TF.js are an optional install of their own (scripts/peers/face-api, not a workspace),
 * so that the repository's install and `npm test` never need them.
 */
export const faceApiDir = join(peersDir, "face-api");

/** The packages declared in scripts/peers/face-api/package.json. */
export function declaredPackages(): Record<string, string> {
  return JSON.parse(readFileSync(join(faceApiDir, "package.json"), "utf8")).devDependencies;
}

/** `require` from scripts/peers/face-api, where its node_modules are. */
export const faceApiRequire = createRequire(join(faceApiDir, "package.json"));

/** Installed version of a scripts/peers/face-api package, or undefined. */
export function installedVersion(name: string): string | undefined {
  const path = join(faceApiDir, "node_modules", name, "package.json");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")).version : undefined;
}

export function missingForFaceApi(): Missing[] {
  const missing: Missing[] = [];
  for (const [name, version] of Object.entries(declaredPackages())) {
    const have = installedVersion(name);
    if (have !== version)
      missing.push({
        what: `npm ${name}@${version} in scripts/peers/node_modules (${have ? `found ${have}` : "not installed"})`,
        fix: FACE_API_INSTALL,
      });
  }
  return missing;
}

/** The test set folder: 128×128 crops with .jpg and .pts of the same stem. */
export function missingDataset(testDir: string): Missing[] {
  const fix = "put the 300w128 dataset at ../shared/datasets/300w128 (see its SOURCE.md) or pass --dir <folder>";
  if (!existsSync(testDir)) return [{ what: `the test-set folder ${testDir}`, fix }];
  const files = readdirSync(testDir);
  if (!files.some((f) => f.endsWith(".jpg")) || !files.some((f) => f.endsWith(".pts")))
    return [{ what: `.jpg and .pts files in ${testDir}`, fix }];
  return [];
}

export function missingFor(peer: PeerKey): Missing[] {
  return peer === "dlib" ? missingForDlib() : missingForFaceApi();
}

/** Exact versions of what a peer ran with, for its row. */
export function softwareVersions(peer: PeerKey): Record<string, string> {
  if (peer === "face-api") {
    const out: Record<string, string> = {};
    for (const name of Object.keys(declaredPackages())) out[`npm ${name}`] = installedVersion(name) ?? "missing";
    return out;
  }
  const out: Record<string, string> = {};
  for (const pkg of ["libdlib-dev", "libdlib-data", "libdlib19.1", "libblas-dev", "liblapack-dev"]) {
    const r = sh("dpkg-query", ["-W", "-f=${Version}", pkg]);
    out[`apt ${pkg}`] = r.ok ? r.out : "unknown (not a dpkg system?)";
  }
  out.compiler = sh(cxx(), ["--version"]).out.split("\n")[0] ?? "unknown";
  return out;
}
