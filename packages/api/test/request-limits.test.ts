// Issue 16.3: grids.preview is public and expanded anything (a 3 KB request: 300,000 cells, 11 s,
// 235 MB); submit had no cap. Now: bounded cells, spec size, expansion time and request body, and a
// rate limit per caller class, each refusal naming its bound.
import { IBUG68 } from "@lml/core";
import { describeEachDatabase } from "@lml/db/testing";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { createCaller, limitRequestBody, MAX_REQUEST_BYTES, RequestLimiter, type Context } from "../src/index";

const seeds = Array.from({ length: 1000 }, (_, i) => i).join(",");
// About 4 KB, 300,000 cells (2 × 1000 × 150).
const HUGE = `name: huge\nmethod: grid\nparameters:\n  regime: [synthetic-only, uda-discriminator]\n  seed: [${seeds}]\n  train.lr: [${Array.from({ length: 150 }, (_, i) => (i + 1) / 1e4).join(",")}]\n`;
const SMALL = "name: small\nmethod: grid\nparameters: { regime: [synthetic-only], seed: [1, 2] }\n";

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCError) return { code: err.code, message: err.message };
    throw err;
  }
  return { code: "OK", message: "" };
}

describeEachDatabase("request limits", (db) => {
  const ctx = (extra: Partial<Context> = {}): Context => ({
    prisma: db().prisma,
    getScheme: (n) => (n === 68 ? IBUG68 : null),
    ...extra,
  });

  it("refuses a spec of 300,000 cells at once, naming the bound, in preview and submit", async () => {
    const api = createCaller(ctx({ limiter: new RequestLimiter() }));
    const started = performance.now();
    const preview = await api.grids.preview({ text: HUGE, fileName: "huge.yaml" });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(preview).toEqual({
      ok: false,
      error:
        "huge.yaml: parameters: the grid expands to 300000 runs (2 × 1000 × 150), more than the 1000 one grid may hold; split it into several grids",
    });
    expect(await failure(api.grids.submit({ text: HUGE, fileName: "huge.yaml" }))).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("more than the 1000 one grid may hold"),
    });
    expect(await db().prisma.grid.count({ where: { name: "huge" } })).toBe(0);
  });

  it("refuses a spec longer than 200,000 characters", async () => {
    const text = SMALL + "#".repeat(200_001);
    expect(
      await failure(createCaller(ctx({ limiter: new RequestLimiter() })).grids.preview({ text, fileName: "long.yaml" })),
    ).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("the spec is longer than 200000 characters"),
    });
  });

  it("rate-limits preview per caller class: a burst of 20, then 2 per second; token holders have their own bucket", async () => {
    const limiter = new RequestLimiter(undefined, () => 1_000_000); // time stands still
    const anonymous = createCaller(ctx({ limiter, requiredToken: "s3cret" }));
    for (let i = 0; i < 20; i++) expect((await anonymous.grids.preview({ text: SMALL })).ok).toBe(true);
    const refused = await failure(anonymous.grids.preview({ text: SMALL }));
    expect(refused.code).toBe("TOO_MANY_REQUESTS");
    expect(refused.message).toMatch(
      /^grids\.preview: rate limit reached \(20 at once, then 2 per second, for callers without the token\); retry in 1 s$/,
    );
    const team = createCaller(ctx({ limiter, requiredToken: "s3cret", token: "s3cret" }));
    expect((await team.grids.preview({ text: SMALL })).ok).toBe(true);
    // A wrong token is no token; in-process callers (no limiter: tests, the CLI) are not limited.
    expect(
      (await failure(createCaller(ctx({ limiter, requiredToken: "s3cret", token: "guess" })).grids.preview({ text: SMALL }))).code,
    ).toBe("TOO_MANY_REQUESTS");
  });

  it("rate-limits submit: 5 at once, then 1 per 6 s", async () => {
    let now = 1_000_000;
    const api = createCaller(ctx({ limiter: new RequestLimiter(undefined, () => now) }));
    for (let i = 0; i < 5; i++) await api.grids.submit({ text: SMALL.replace("small", `small-${i}`), fileName: "s.yaml" });
    expect(await failure(api.grids.submit({ text: SMALL.replace("small", "small-5") }))).toEqual({
      code: "TOO_MANY_REQUESTS",
      message: "grids.submit: rate limit reached (5 at once, then 1 per 6 s, for callers without the token); retry in 6 s",
    });
    now += 6000;
    expect((await api.grids.submit({ text: SMALL.replace("small", "small-5") })).runs).toBe(2);
  });
});

describe("the request body limit", () => {
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    new Request("http://127.0.0.1/api/trpc/grids.submit", { method: "POST", body, headers, duplex: "half" } as RequestInit);

  it("passes a small body through, readable", async () => {
    const out = await limitRequestBody(post(JSON.stringify({ text: "x" }), { "content-type": "application/json" }));
    expect(out).toBeInstanceOf(Request);
    expect(await (out as Request).json()).toEqual({ text: "x" });
    expect((out as Request).headers.get("content-type")).toBe("application/json");
  });

  it("answers 413 naming the bound, by Content-Length or by counting a streamed body", async () => {
    const declared = await limitRequestBody(post("x", { "content-length": String(MAX_REQUEST_BYTES + 1) }));
    expect(declared).toBeInstanceOf(Response);
    expect((declared as Response).status).toBe(413);
    expect(await (declared as Response).json()).toMatchObject({
      error: { message: `request body larger than ${MAX_REQUEST_BYTES} bytes (the limit of this endpoint)` },
    });
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 65536;
        controller.enqueue(new Uint8Array(65536));
      },
    });
    const streamed = await limitRequestBody(post(endless));
    expect((streamed as Response).status).toBe(413);
    expect(sent).toBeLessThan(MAX_REQUEST_BYTES + 4 * 65536); // stopped reading at the bound
  });
});
