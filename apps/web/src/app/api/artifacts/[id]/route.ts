import { readFile } from "node:fs/promises";
import { z } from "zod";
import { database } from "@/server/context";

export const dynamic = "force-dynamic";

/** Sample-prediction images and other artifacts: bytes from the database, or the file at its path. */
export async function GET(_req: Request, ctx: { params: Promise<{ id: string }> }) {
  const id = z.uuid().safeParse((await ctx.params).id);
  if (!id.success) return new Response("bad artifact id", { status: 400 });
  const { prisma } = await database();
  const a = await prisma.artifact.findUnique({ where: { id: id.data }, select: { bytes: true, path: true, mime: true, kind: true } });
  if (!a) return new Response("no such artifact", { status: 404 });
  if (a.kind === "checkpoint") return new Response("checkpoints are not served", { status: 403 });
  let body: Uint8Array | null = a.bytes ? new Uint8Array(a.bytes) : null;
  if (!body && a.path) body = await readFile(a.path).catch(() => null);
  if (!body) return new Response("artifact has no content", { status: 404 });
  return new Response(body as BodyInit, {
    headers: { "content-type": a.mime ?? "application/octet-stream", "cache-control": "private, max-age=3600" },
  });
}
