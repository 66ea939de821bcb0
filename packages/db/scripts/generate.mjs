// `prisma generate` offline: the Prisma 7 CLI first tries to download the schema engine, which
// generate never uses; pointing PRISMA_SCHEMA_ENGINE_BINARY at a stub file skips that download.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const stubDir = join(tmpdir(), "lml-prisma");
mkdirSync(stubDir, { recursive: true });
const stub = join(stubDir, "schema-engine-stub");
writeFileSync(stub, "#!/bin/sh\necho 'schema engine not available offline' >&2\nexit 1\n");
chmodSync(stub, 0o755);
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
execFileSync(process.execPath, [prismaCli, "generate", "--schema", join(here, "..", "..", "..", "prisma", "schema.prisma")], {
  stdio: "inherit",
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: stub, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
});
