import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { connectDatabase, DatabaseUrlError, getHealth, createPrismaClient, redactUrl, resolveDatabaseUrl } from "../src/index";
import { testDatabases } from "../src/testing";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function failure(url: string): Promise<DatabaseUrlError> {
  const err = await connectDatabase(url, { connectTimeoutMs: 3000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DatabaseUrlError);
  const message = (err as Error).message;
  expect(message).not.toContain("\n");
  expect(message).not.toContain("s3cret");
  return err as DatabaseUrlError;
}

describe("database URLs", () => {
  it("uses DATABASE_URL, else the embedded server's URL", () => {
    expect(resolveDatabaseUrl({ DATABASE_URL: "postgresql://u@h/db" })).toBe("postgresql://u@h/db");
    expect(resolveDatabaseUrl({})).toBe("postgresql://postgres@127.0.0.1:5488/postgres");
    expect(resolveDatabaseUrl({ LML_DB_PORT: "6000" })).toBe("postgresql://postgres@127.0.0.1:6000/postgres");
    expect(() => resolveDatabaseUrl({ LML_DB_PORT: "x" })).toThrow(/LML_DB_PORT must be a port number/);
    expect(redactUrl("postgresql://me:s3cret@db.example:5432/lab")).toBe("postgresql://me:***@db.example:5432/lab");
  });

  it("says connection refused, naming the URL without its password", async () => {
    const port = await freePort();
    const err = await failure(`postgresql://me:s3cret@127.0.0.1:${port}/lab`);
    expect(err.message).toBe(
      `cannot use database postgresql://me:***@127.0.0.1:${port}/lab: connection refused (ECONNREFUSED): nothing listens on 127.0.0.1:${port}`,
    );
  });

  it("says the host is unknown", async () => {
    const err = await failure("postgresql://me:s3cret@no-such-host.invalid:5432/lab");
    expect(err.message).toMatch(
      /^cannot use database postgresql:\/\/me:\*\*\*@no-such-host\.invalid:5432\/lab: unknown host \((ENOTFOUND|EAI_AGAIN)\)/,
    );
  });

  it("rejects a URL that is not postgresql://", async () => {
    expect((await failure("mysql://me:s3cret@localhost/lab")).message).toBe(
      'cannot use database mysql://me:***@localhost/lab: unsupported scheme "mysql:" (expected postgresql://)',
    );
    expect(() => createPrismaClient("not a url")).toThrow(/not a valid URL/);
  });

  const pg = testDatabases().find((t) => t.kind === "postgres");
  describe.skipIf(!pg?.adminUrl)("on a real PostgreSQL server", () => {
    it("says the database does not exist", async () => {
      const url = new URL(pg!.adminUrl!);
      url.pathname = "/lml_no_such_db";
      const err = await failure(url.toString());
      expect(err.message).toMatch(/: database "lml_no_such_db" does not exist \(3D000\)$/);
    });

    it("says authentication was rejected for an unknown role", async () => {
      const url = new URL(pg!.adminUrl!);
      url.username = "lml_no_such_role";
      url.password = "s3cret";
      const err = await failure(url.toString());
      expect(err.message).toMatch(/: authentication (failed|rejected) for user "lml_no_such_role".*\((28P01|28000)\)$/);
    });
  });

  it("health reports an unreachable database instead of throwing", async () => {
    const port = await freePort();
    const prisma = createPrismaClient(`postgresql://me:s3cret@127.0.0.1:${port}/lab`, { connectTimeoutMs: 2000 });
    try {
      const health = await getHealth(prisma);
      expect(health).toMatchObject({ ok: false, db: { reachable: false, url: `postgresql://me:***@127.0.0.1:${port}/lab`, kind: null } });
      expect(health.migrations.pending.length).toBeGreaterThan(0);
      expect(JSON.stringify(health)).not.toContain("s3cret");
    } finally {
      await prisma.$disconnect();
    }
  });
});
