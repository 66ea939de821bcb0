// Shared first step of `npm start`, `npm test` and `npm run lml`: install what is missing on a fresh
// clone, generate the Prisma client and build the native backend's addon, so that each of them is one
// command.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { execSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function run(cmd) {
  execSync(cmd, { cwd: root, stdio: ["ignore", process.stderr, process.stderr] });
}

export function ensureSetup() {
  if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
    process.stderr.write("lml: installing dependencies (npm install)…\n");
    run("npm install --no-audit --no-fund");
  }
  if (!existsSync(join(root, "packages", "db", "src", "generated", "prisma"))) {
    process.stderr.write("lml: generating the Prisma client…\n");
    run("npm run -s db:generate");
  }
  ensureNativeBackend();
}

// ---- the native tfjs backend (packages/tfjs-backend-native) ------------------------------------------
//
// Its C++ addon is compiled here from source with node-gyp against Debian's oneDNN (libdnnl-dev) when it
// is missing or older than its sources. As root on Debian, missing build prerequisites are installed
// with apt; otherwise training falls back to the wasm backend and one line says why and how to enable it.

const nativeDir = join(root, "packages", "tfjs-backend-native");
const addon = join(nativeDir, "build", "Release", "lml_native.node");
const dnnlHeaders = ["/usr/include/oneapi/dnnl/dnnl.hpp", "/usr/local/include/oneapi/dnnl/dnnl.hpp"];
const enable = "apt-get install libdnnl-dev g++ make, then run npm start or npm test again";

function onPath(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** What the build needs and is not here, as Debian package names. */
function missingPackages() {
  const missing = [];
  if (!dnnlHeaders.some((h) => existsSync(h))) missing.push("libdnnl-dev");
  if (!onPath("g++")) missing.push("g++");
  if (!onPath("make")) missing.push("make");
  if (!onPath("python3")) missing.push("python3"); // node-gyp's gyp is Python
  return missing;
}

function addonIsCurrent() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  const sources = [join(nativeDir, "binding.gyp"), ...readdirSync(join(nativeDir, "native")).map((f) => join(nativeDir, "native", f))];
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

function fallBack(reason) {
  if (existsSync(addon)) {
    process.stderr.write(
      `lml: native addon not rebuilt after a change to its sources (${reason}); the previous build stays in use. To rebuild: ${enable}.\n`,
    );
  } else {
    process.stderr.write(`lml: native backend off (${reason}); training uses wasm. To enable it: ${enable}.\n`);
  }
}

export function ensureNativeBackend() {
  if (!existsSync(join(nativeDir, "binding.gyp")) || addonIsCurrent()) return;
  let missing = missingPackages();
  if (missing.length) {
    const canApt = process.getuid?.() === 0 && existsSync("/etc/debian_version") && onPath("apt-get");
    if (!canApt) return fallBack(`missing ${missing.join(", ")}`);
    process.stderr.write(`lml: installing ${missing.join(" ")} for the native backend (apt-get)…\n`);
    const apt = spawnSync(
      "sh",
      ["-c", `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(" ")}`],
      {
        stdio: ["ignore", "ignore", "pipe"],
        encoding: "utf8",
      },
    );
    missing = missingPackages();
    if (apt.status !== 0) return fallBack(`apt-get failed: ${(apt.stderr ?? "").trim().split("\n").pop()}`);
    if (missing.length) return fallBack(`still missing after apt-get install: ${missing.join(", ")}`);
  }
  // One build at a time (npm test and a worker may start together); a second waits for the first.
  const lock = join(nativeDir, "build.lock");
  try {
    mkdirSync(lock);
  } catch {
    const started = Date.now();
    while (existsSync(lock) && Date.now() - started < 10 * 60_000) spawnSync("sleep", ["1"]);
    if (addonIsCurrent()) return;
    rmSync(lock, { recursive: true, force: true }); // a stale lock from a killed build
    mkdirSync(lock);
  }
  try {
    process.stderr.write("lml: building the native backend (oneDNN addon, about a minute)…\n");
    const nodeGyp = join(root, "node_modules", ".bin", "node-gyp");
    // Node's own headers: next to the running node (Debian's nodejs ships them in /usr/include/node).
    const prefix = join(dirname(process.execPath), "..");
    const nodedir = existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
    const build = spawnSync(existsSync(nodeGyp) ? nodeGyp : "node-gyp", ["rebuild", "--jobs=max", ...nodedir], {
      cwd: nativeDir,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
    });
    if (build.status !== 0 || !existsSync(addon)) {
      const output = `${build.stdout ?? ""}${build.stderr ?? ""}${build.error?.message ?? ""}`;
      const why = output.split("\n").find((l) => /error/i.test(l)) ?? output.trim().split("\n").pop() ?? "no output";
      return fallBack(`the addon build failed: ${why.trim()}; details: npm run -w @lml/tfjs-backend-native build:addon`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
