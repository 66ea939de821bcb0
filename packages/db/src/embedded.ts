// The embedded default: one process opens PGlite on `${LML_DATA_DIR:-.data}/pglite` and serves it on
// 127.0.0.1 with pglite-socket; every other process (web, trainer workers) connects with the normal
// pg driver, the same code path as a real PostgreSQL server.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { embeddedPort, embeddedUrl } from "./url";
import { EMBEDDED_MAX_CONNECTIONS, serializeExtendedProtocol } from "./workarounds";

export interface EmbeddedServerOptions {
  /** Folder for PGlite's files; "memory://" (or undefined with `memory: true`) keeps it in memory. */
  dataDir?: string;
  /** TCP port on 127.0.0.1; default LML_DB_PORT or 5488; 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedServer {
  /** postgresql:// URL to hand to clients. */
  url: string;
  port: number;
  dataDir: string;
  /** Stops accepting connections, then closes PGlite (a process never exits while PGlite is open). */
  close(): Promise<void>;
}

/** Default data folder: `${LML_DATA_DIR:-.data}/pglite`, relative to the current directory. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LML_DATA_DIR || ".data", "pglite");
}

// Two PGlite instances on one folder in one process corrupt it, so refuse the second open.
const openDataDirs = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/**
 * PGlite itself does not stop a second process from opening the same folder (which corrupts it), so
 * the serving process holds `<dataDir>.lock` with its pid and URL; a stale lock (dead pid) is taken over.
 */
function acquireFolderLock(dataDir: string, url: () => string): { write(): void; release(): void } {
  const lock = `${dataDir}.lock`;
  try {
    writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
  } catch (err) {
    if ((err as { code?: string }).code !== "EEXIST") throw err;
    const [pidText, owner] = readFileSync(lock, "utf8").split("\n");
    const pid = Number(pidText);
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(
        `PGlite data folder ${dataDir} is already served by process ${pid}${owner ? ` at ${owner}` : ""}; connect to it instead`,
      );
    }
    writeFileSync(lock, `${process.pid}\n`);
  }
  return {
    write: () => writeFileSync(lock, `${process.pid}\n${url()}\n`),
    release: () => rmSync(lock, { force: true }),
  };
}

export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const memory = options.dataDir === "memory://";
  // turbopackIgnore: a run-time data folder; without it Next traces the whole project into its build.
  const dataDir = memory ? "memory://" : resolve(/* turbopackIgnore: true */ options.dataDir ?? defaultDataDir());
  const port = options.port ?? embeddedPort();
  const host = options.host ?? "127.0.0.1";
  if (!memory) {
    if (openDataDirs.has(dataDir)) {
      throw new Error(`PGlite data folder ${dataDir} is already open in this process; reuse its server`);
    }
    mkdirSync(dataDir, { recursive: true });
  }
  let serverUrl = "";
  const lock = memory ? undefined : acquireFolderLock(dataDir, () => serverUrl);
  if (!memory) openDataDirs.add(dataDir);
  let db: PGlite | undefined;
  try {
    db = memory ? await PGlite.create() : await PGlite.create(dataDir);
    const server = new PGLiteSocketServer({ db, port, host, maxConnections: EMBEDDED_MAX_CONNECTIONS });
    serializeExtendedProtocol(server);
    try {
      await server.start();
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === "EADDRINUSE" ? `port ${port} is in use (another lml db server? set LML_DB_PORT)` : String(err);
      throw new Error(`cannot serve embedded database on ${host}:${port}: ${why}`, { cause: err });
    }
    // getServerConn() is "host:port" with the port the OS chose when port was 0.
    const actualPort = Number(server.getServerConn().split(":").pop());
    serverUrl = embeddedUrl(actualPort, host);
    lock?.write();
    const opened = db;
    let closing: Promise<void> | undefined;
    return {
      url: serverUrl,
      port: actualPort,
      dataDir,
      close() {
        closing ??= (async () => {
          try {
            await server.stop();
          } finally {
            await opened.close();
            openDataDirs.delete(dataDir);
            lock?.release();
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    if (db && !db.closed) await db.close();
    if (!memory) openDataDirs.delete(dataDir);
    lock?.release();
    throw err;
  }
}
