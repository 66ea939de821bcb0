// Every workaround for an upstream bug or packaging limit lives here, each naming what it works around,
// so that removing one when upstream fixes it is a one-place change.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { PrismaPg } from "@prisma/adapter-pg";
import { ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import pg from "pg";

/**
 * pglite-socket 0.2.17 (`PGLiteSocketServer`) defaults to `maxConnections: 1` and Node then drops every
 * further connection, so a web server and a worker could not both connect. Allow several sockets.
 * Its QueryQueueManager queues protocol messages from all sockets FIFO onto the one PGlite backend and
 * only pins the queue to one socket while PGlite reports an open transaction; it does not keep an
 * extended-protocol sequence (Parse/Bind/Execute/Sync) from one socket together, and all sockets share
 * one backend session. See EMBEDDED_POOL_MAX for the client-side half.
 */
export const EMBEDDED_MAX_CONNECTIONS = 32;

/**
 * Client side of the pglite-socket limit above: a process talking to the embedded server uses a pool
 * of ONE connection, so its own queries never interleave on the shared backend. Several processes
 * (web + workers) take turns; "one writer at a time" is the documented limit of the embedded default.
 */
export const EMBEDDED_POOL_MAX = 1;

const PG_CHAR_OID = 18; // catalog type `"char"` (pg_constraint.contype, pg_class.relkind, ...)
const PG_TEXT_OID = 25;

// Result rows of "char" columns seen by CatalogTypesPool, keyed by the rows array that adapter-pg
// passes through unchanged from pg's result to its queryRaw() result.
const charColumnsOf = new WeakMap<unknown[], number[]>();

/**
 * prisma/orm#27403: @prisma/adapter-pg 7.10 throws UnsupportedNativeDataType for result columns of the
 * catalog type `"char"` (OID 18), which the schema engine's introspection and any $queryRaw on
 * pg_catalog return. pg already parses it as a string, so report it to the adapter as `text`
 * (and remember which columns they were, for CatalogTypesPg below).
 */
export class CatalogTypesPool extends pg.Pool {
  // pg.Pool.query is heavily overloaded; forward everything unchanged.
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result && typeof (result as Promise<unknown>).then === "function") {
      return (result as Promise<pg.QueryResult>).then((r) => {
        const chars: number[] = [];
        (r?.fields ?? []).forEach((f, i) => {
          if (f.dataTypeID === PG_CHAR_OID) {
            f.dataTypeID = PG_TEXT_OID;
            chars.push(i);
          }
        });
        if (chars.length && Array.isArray(r.rows)) charColumnsOf.set(r.rows, chars);
        return r;
      });
    }
    return result;
  }
}

/**
 * Second half of prisma/orm#27403 for the schema engine: its Postgres describer reads `"char"` columns
 * as a Rust char and panics on text ("... as char failed"), so after CatalogTypesPool has let the
 * adapter accept them, mark those columns as ColumnType Character again. Needs a CatalogTypesPool.
 */
export class CatalogTypesPg extends PrismaPg {
  constructor(pool: CatalogTypesPool) {
    super(pool);
  }
  override async connect(): Promise<Awaited<ReturnType<PrismaPg["connect"]>>> {
    const adapter = await super.connect();
    const queryRaw = adapter.queryRaw.bind(adapter);
    adapter.queryRaw = async (query) => {
      const result = await queryRaw(query);
      for (const i of charColumnsOf.get(result.rows) ?? []) result.columnTypes[i] = ColumnTypeEnum.Character;
      return result;
    };
    return adapter;
  }
}

/**
 * @prisma/schema-engine-wasm is built with wasm-bindgen's "bundler" target (`import * as wasm from
 * "./schema_engine_bg.wasm"`), which plain Node cannot import (ERR_UNKNOWN_FILE_EXTENSION). Instantiate
 * the .wasm by hand and hand it to the generated bindings, as the "nodejs" target would.
 */
export async function loadSchemaEngineWasm(): Promise<typeof import("@prisma/schema-engine-wasm")> {
  const require = createRequire(import.meta.url);
  const bg = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as typeof import("@prisma/schema-engine-wasm") & {
    __wbg_set_wasm(exports: WebAssembly.Exports): void;
  };
  if (!loaded) {
    const wasmPath = require.resolve("@prisma/schema-engine-wasm").replace(/schema_engine\.js$/, "schema_engine_bg.wasm");
    const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      "./schema_engine_bg.js": bg as unknown as WebAssembly.ModuleImports,
    });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    loaded = true;
  }
  return bg;
}
let loaded = false;

/*
 * Not worked around but avoided (see README "Migrations"):
 * - @prisma/adapter-pg `connectToShadowDb()` drops the shadow database while its own pool still holds a
 *   connection, so the DROP fails; migration:create diffs against a throwaway in-memory PGlite instead
 *   of a shadow database.
 * - pglite-prisma-adapter 0.7.2 does not await `executeScript` and sends multi-statement scripts through
 *   the extended protocol, where they fail; we never use it: PGlite is always reached through
 *   pglite-socket + @prisma/adapter-pg, and migrations run as simple-protocol scripts over pg.
 */
