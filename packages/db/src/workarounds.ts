// Every workaround for an upstream bug or packaging limit lives here, each naming what it works around,
// so that removing one when upstream fixes it is a one-place change.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { PrismaPg } from "@prisma/adapter-pg";
import { ColumnTypeEnum } from "@prisma/driver-adapter-utils";
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";

/**
 * pglite-socket 0.2.17 (`PGLiteSocketServer`) defaults to `maxConnections: 1` and Node then drops every
 * further connection, so a web server and a worker could not both connect. Allow several sockets.
 * Its QueryQueueManager queues protocol messages from all sockets FIFO onto the one PGlite backend and
 * only pins the queue to one socket while PGlite reports an open transaction; it does not keep an
 * extended-protocol sequence (Parse/Bind/Execute/Sync) from one socket together, and all sockets share
 * one backend session; serializeExtendedProtocol below fixes the former, EMBEDDED_POOL_MAX covers the
 * session state on the client side.
 */
export const EMBEDDED_MAX_CONNECTIONS = 32;

// Frontend message types of the extended query protocol; a sequence of them ends with Sync ('S').
const EXTENDED_PROTOCOL = new Set([0x50 /* P */, 0x42 /* B */, 0x44 /* D */, 0x45 /* E */, 0x43 /* C */, 0x48 /* H */]);

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(size: number): void;
  reject(err: Error): void;
  onData(data: Uint8Array): void;
}

interface QueryQueueInternals {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/**
 * pglite-socket 0.2.17 bug (QueryQueueManager.processQueue, no upstream issue found): every socket shares
 * PGlite's one backend, and the queue only keeps one socket's messages together while a transaction is
 * open. A Parse/Bind/Execute/Sync sequence is not kept together, so when a large message (a checkpoint's
 * bytes) arrives in several TCP reads, another client's Parse runs in between and replaces the unnamed
 * statement: "bind message supplies 19 parameters, but prepared statement "" requires 2" (reproduced in
 * test/embedded.test.ts). Also, a failing message leaves `processing` true and stalls the queue for good.
 * This replaces processQueue on the server's queue so a socket keeps the backend from its first
 * extended-protocol message to its Sync (and for a whole transaction, as before), and never stalls.
 */
export function serializeExtendedProtocol(server: PGLiteSocketServer): void {
  const q = (server as unknown as { queryQueue: QueryQueueInternals }).queryQueue;
  let pinned: number | null = null;
  q.processQueue = async function processQueue(this: QueryQueueInternals): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const owner = pinned ?? (this.db.isInTransaction() ? this.lastHandlerId : null);
        let query: QueuedMessage | undefined;
        if (owner != null) {
          const i = this.queue.findIndex((m) => m.handlerId === owner);
          if (i === -1) break; // wait for the owner's next message; others stay queued
          query = this.queue.splice(i, 1)[0];
        } else {
          query = this.queue.shift();
        }
        if (!query) break;
        const current = query;
        let size = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(current.message, {
              onRawData: (data: Uint8Array) => {
                size += data.length;
                current.onData(data);
              },
            }),
          );
        } catch (err) {
          pinned = null;
          current.reject(err as Error);
          continue;
        }
        this.lastHandlerId = current.handlerId;
        pinned = EXTENDED_PROTOCOL.has(current.message[0]!) ? current.handlerId : null;
        current.resolve(size);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = q.clearQueueForHandler.bind(q);
  q.clearQueueForHandler = (handlerId: number) => {
    clear(handlerId);
    // A socket that went away mid-sequence must not hold the backend forever.
    if (pinned === handlerId) {
      pinned = null;
      void q.processQueue();
    }
  };
}

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
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the override must accept and return every overload's types
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
  // A devDependency on purpose: only schema-diff.ts (the dev-only "@lml/db/migrations" entry) calls this.
  // eslint-disable-next-line import-x/no-extraneous-dependencies -- dev-only, see above
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
