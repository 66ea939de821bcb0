import { expect, it } from "vitest";
import { describeEachDatabase } from "../src/testing";

describeEachDatabase("smoke", (db) => {
  it("connects and is migrated", async () => {
    expect(await db().prisma.grid.count()).toBe(0);
  });
});
