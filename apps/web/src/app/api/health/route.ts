import { createCaller } from "@lml/api";
import { resolveDatabaseUrl } from "@lml/db";
import { createContext } from "@/server/context";

export const dynamic = "force-dynamic";

/** GET /api/health: database reachability and migration state; 200 when migrated, 503 otherwise. */
export async function GET(req: Request) {
  try {
    const health = await createCaller(await createContext(req)).health();
    const ok = health.db.reachable && health.migrations.upToDate;
    return Response.json({ status: ok ? "ok" : "degraded", ...health }, { status: ok ? 200 : 503 });
  } catch (err) {
    // Not even a connection: say which URL (redacted) and why, in the same shape.
    let url = "";
    try {
      url = resolveDatabaseUrl().replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
    } catch {}
    return Response.json(
      {
        status: "down",
        db: { reachable: false, url, kind: null, error: err instanceof Error ? err.message : String(err) },
        migrations: null,
      },
      { status: 503 },
    );
  }
}
