import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError, formatPts, parsePts, readPts, writePts } from "../src";

const good = "version: 1\nn_points: 3\n{\n1 2\n3.5 -4e1\n  .5\t6  \n}\n";

describe("parsePts", () => {
  it("reads the 300-W layout exactly", () => {
    expect(Array.from(parsePts(good, "a.pts"))).toEqual([1, 2, 3.5, -40, 0.5, 6]);
    // CRLF, a BOM, extra header spaces and no final newline are all fine.
    expect(Array.from(parsePts("\uFEFFversion:  1\r\nn_points:  1\r\n{\r\n7 8\r\n}", "b.pts"))).toEqual([7, 8]);
  });

  it("reads the real fixture files", async () => {
    const p = await readPts(resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/real68/einstein.pts"));
    expect(p).toHaveLength(136);
    expect(p[0]).toBeCloseTo(357.417253, 3);
  });

  // Each case: file text, and the line the error must name.
  it.each<[string, string, number, RegExp]>([
    ["no version", "n_points: 1\n{\n1 2\n}\n", 1, /expected "version: 1"/],
    ["wrong version", "version: 2\nn_points: 1\n{\n1 2\n}\n", 1, /expected "version: 1"/],
    ["no n_points", "version: 1\n{\n1 2\n}\n", 2, /expected "n_points: <count>"/],
    ["non-integer n_points", "version: 1\nn_points: 2.5\n{\n1 2\n}\n", 2, /positive integer, got "2.5"/],
    ["zero n_points", "version: 1\nn_points: 0\n{\n}\n", 2, /positive integer, got "0"/],
    ["missing opening brace", "version: 1\nn_points: 1\n1 2\n}\n", 3, /expected "\{", got "1 2"/],
    ["too few points", "version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n", 6, /"\}" after 2 points, but n_points is 3/],
    ["too many points", "version: 1\nn_points: 1\n{\n1 2\n3 4\n}\n", 5, /more points than n_points \(1\)/],
    ["non-number x", "version: 1\nn_points: 2\n{\n1 2\nabc 4\n}\n", 5, /x is not a number: "abc"/],
    ["non-number y", "version: 1\nn_points: 2\n{\n1 2\n3 4px\n}\n", 5, /y is not a number: "4px"/],
    ["NaN", "version: 1\nn_points: 1\n{\nNaN 1\n}\n", 4, /x is not a number: "NaN"/],
    ["three values", "version: 1\nn_points: 1\n{\n1 2 3\n}\n", 4, /expected two numbers "x y", got "1 2 3"/],
    ["one value", "version: 1\nn_points: 1\n{\n1\n}\n", 4, /expected two numbers/],
    ["blank line among points", "version: 1\nn_points: 2\n{\n1 2\n\n3 4\n}\n", 5, /expected two numbers "x y", got ""/],
    ["missing closing brace", "version: 1\nn_points: 2\n{\n1 2\n3 4\n", 6, /missing "\}" after 2 points/],
    ["truncated file", "version: 1\nn_points: 3\n{\n1 2\n", 5, /end of file after 1 of 3 points/],
    ["text after the brace", "version: 1\nn_points: 1\n{\n1 2\n}\nextra\n", 6, /unexpected text after "\}": "extra"/],
    ["wrong closing token", "version: 1\nn_points: 1\n{\n1 2\n]\n", 5, /expected "\}", got "\]"/],
  ])("rejects %s at the right line", (_, text, line, message) => {
    const call = () => parsePts(text, "bad.pts");
    expect(call).toThrow(UsageError);
    expect(call).toThrow(new RegExp(`^bad\\.pts:${line}: `));
    expect(call).toThrow(message);
  });

  it("names the path of an unreadable file", async () => {
    await expect(readPts("/nonexistent/x.pts")).rejects.toThrow(/\/nonexistent\/x\.pts: cannot read \(ENOENT\)/);
  });
});

describe("formatPts / writePts", () => {
  it("round-trips through a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pts-"));
    const pts = Float32Array.from([1.25, 2.5, 1283.5986, 276.3876]);
    await writePts(join(dir, "x.pts"), pts);
    const text = await readFile(join(dir, "x.pts"), "utf8");
    expect(text).toBe("version: 1\nn_points: 2\n{\n1.250000 2.500000\n1283.598633 276.387604\n}\n");
    expect(Array.from(await readPts(join(dir, "x.pts")))).toEqual(Array.from(pts));
  });
  it("refuses odd lengths and non-finite values", () => {
    expect(() => formatPts([1, 2, 3])).toThrow(UsageError);
    expect(() => formatPts([1, NaN])).toThrow(/point 0 is not finite/);
  });
});
