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

  // Each case: file text, and the line the error must name. No message may quote the file's text.
  it.each<[string, string, number, RegExp]>([
    ["no version", "n_points: 1\n{\n1 2\n}\n", 1, /line 1 is not "version: 1"/],
    ["wrong version", "version: 2\nn_points: 1\n{\n1 2\n}\n", 1, /line 1 is not "version: 1"/],
    ["no n_points", "version: 1\n{\n1 2\n}\n", 2, /line 2 is not "n_points: <count>"/],
    ["non-integer n_points", "version: 1\nn_points: 2.5\n{\n1 2\n}\n", 2, /n_points is not a positive integer/],
    ["zero n_points", "version: 1\nn_points: 0\n{\n}\n", 2, /n_points is not a positive integer/],
    ["missing opening brace", "version: 1\nn_points: 1\n1 2\n}\n", 3, /line 3 is not "\{"/],
    ["too few points", "version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n", 6, /"\}" after 2 points, but n_points is 3/],
    ["too many points", "version: 1\nn_points: 1\n{\n1 2\n3 4\n}\n", 5, /more points than n_points \(1\)/],
    ["non-number x", "version: 1\nn_points: 2\n{\n1 2\nabc 4\n}\n", 5, /line 5: x is not a number$/],
    ["non-number y", "version: 1\nn_points: 2\n{\n1 2\n3 4px\n}\n", 5, /line 5: y is not a number$/],
    ["NaN", "version: 1\nn_points: 1\n{\nNaN 1\n}\n", 4, /x is not a number/],
    ["three values", "version: 1\nn_points: 1\n{\n1 2 3\n}\n", 4, /line 4 is not a point "x y" \(two numbers\)/],
    ["one value", "version: 1\nn_points: 1\n{\n1\n}\n", 4, /line 4 is not a point/],
    ["blank line among points", "version: 1\nn_points: 2\n{\n1 2\n\n3 4\n}\n", 5, /line 5 is not a point/],
    ["missing closing brace", "version: 1\nn_points: 2\n{\n1 2\n3 4\n", 6, /missing "\}" after 2 points/],
    ["truncated file", "version: 1\nn_points: 3\n{\n1 2\n", 5, /end of file after 1 of 3 points/],
    ["text after the brace", "version: 1\nn_points: 1\n{\n1 2\n}\nextra\n", 6, /line 6: unexpected text after "\}"$/],
    ["wrong closing token", "version: 1\nn_points: 1\n{\n1 2\n]\n", 5, /line 5 is not "\}"/],
  ])("rejects %s at the right line", (_, text, line, message) => {
    const call = () => parsePts(text, "bad.pts");
    expect(call).toThrow(UsageError);
    expect(call).toThrow(new RegExp(`^bad\\.pts:${line}: `));
    expect(call).toThrow(message);
  });

  it("never echoes the file's text (a spec could point it at any file: issue 16.1)", () => {
    const secret = "root:x:0:0:root:/root:/bin/bash";
    for (const text of [
      secret,
      `version: 1\n${secret}`,
      `version: 1\nn_points: 1\n${secret}`,
      `version: 1\nn_points: 1\n{\n${secret}\n}`,
      `version: 1\nn_points: 1\n{\n1 ${secret}\n}`,
      `version: 1\nn_points: 1\n{\n1 2\n}\n${secret}`,
      `version: 1\nn_points: 1\n{\n1 2\n${secret}`,
    ]) {
      let message = "";
      try {
        parsePts(text, "f.pts");
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^f\.pts:\d+: /);
      expect(message).not.toMatch(/root|bash/);
    }
  });

  it("requires the point count it is asked for, naming the file and the header line (issue 16.5)", () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `${i} ${i}`).join("\n");
    const file = (header: number, n: number) => `version: 1\nn_points: ${header}\n{\n${rows(n)}\n}\n`;
    expect(parsePts(file(68, 68), "ok.pts", { points: 68 })).toHaveLength(136);
    // 67 points, header 67: a valid file, but not iBUG's 68 (it used to load with a 68th point at 0,0)
    expect(() => parsePts(file(67, 67), "short.pts", { points: 68 })).toThrow(
      /^short\.pts:2: n_points is 67, expected 68 \(the iBUG 68-point markup\)$/,
    );
    expect(() => parsePts(file(69, 69), "long.pts", { points: 68 })).toThrow(/^long\.pts:2: n_points is 69, expected 68/);
    // header and body disagree: named at the line where they part
    expect(() => parsePts(file(68, 67), "a.pts", { points: 68 })).toThrow(/^a\.pts:71: "\}" after 67 points, but n_points is 68$/);
    expect(() => parsePts(file(68, 69), "b.pts", { points: 68 })).toThrow(/^b\.pts:72: more points than n_points \(68\)/);
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
