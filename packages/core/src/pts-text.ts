import { UsageError } from "./errors";

/**
 * The 300-W `.pts` layout:
 *
 *     version: 1
 *     n_points: 68
 *     {
 *     x y          (N lines)
 *     }
 *
 * Values are returned exactly as written: 300-W files use 1-based pixel coordinates (the centre of the
 * top-left pixel is (1, 1)); `PTS_TO_PIXEL_OFFSET` converts to this project's convention (centre 0.5).
 */
export const PTS_TO_PIXEL_OFFSET = -0.5;

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface ParsePtsOptions {
  /** The point count the file must hold (68 for iBUG markup); its header must say so too. */
  points?: number;
}

/**
 * Parses `.pts` text strictly; every error is a UsageError "<file>:<line>: <what>" (lines 1-based).
 * Errors never quote the file's text (issue 16.1: a spec could point a reader at any file, and these
 * messages reach places readable without a token): they say what the line is not, and the counts
 * the parser itself derived.
 */
export function parsePts(text: string, fileName: string, options: ParsePtsOptions = {}): Float32Array {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const fail = (line: number, msg: string): never => {
    throw new UsageError(`${fileName}:${line}: ${msg}`);
  };
  const at = (i: number) => (lines[i] ?? "").trim();

  if (!/^version:\s*1$/.test(at(0))) fail(1, `line 1 is not "version: 1"`);
  const header = /^n_points:\s*(\S+)$/.exec(at(1));
  if (!header) fail(2, `line 2 is not "n_points: <count>"`);
  const n = Number(header![1]);
  if (!/^\d+$/.test(header![1]) || n <= 0) fail(2, `line 2: n_points is not a positive integer`);
  if (options.points !== undefined && n !== options.points)
    fail(2, `n_points is ${n}, expected ${options.points}${options.points === 68 ? " (the iBUG 68-point markup)" : ""}`);
  if (at(2) !== "{") fail(3, `line 3 is not "{"`);

  const out = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const i = 3 + k;
    if (i >= lines.length || (i === lines.length - 1 && at(i) === ""))
      fail(i + 1, `end of file after ${k} of ${n} points (missing points and "}")`);
    const s = at(i);
    if (s === "}") fail(i + 1, `"}" after ${k} points, but n_points is ${n}`);
    const parts = s.split(/\s+/);
    if (parts.length !== 2) fail(i + 1, `line ${i + 1} is not a point "x y" (two numbers)`);
    for (const [j, p] of parts.entries()) {
      if (!NUMBER.test(p)) fail(i + 1, `line ${i + 1}: ${j === 0 ? "x" : "y"} is not a number`);
      out[2 * k + j] = Number(p);
    }
  }
  const close = 3 + n;
  if (close >= lines.length || (at(close) === "" && lines.slice(close).every((l) => l.trim() === "")))
    fail(close + 1, `missing "}" after ${n} points`);
  if (at(close) !== "}")
    fail(
      close + 1,
      NUMBER.test(at(close).split(/\s+/)[0] ?? "") ? `more points than n_points (${n}); expected "}"` : `line ${close + 1} is not "}"`,
    );
  for (let i = close + 1; i < lines.length; i++) if (at(i) !== "") fail(i + 1, `line ${i + 1}: unexpected text after "}"`);
  return out;
}

/** `.pts` text for a shape; 6 decimals, as the 300-W files are written. */
export function formatPts(points: ArrayLike<number>): string {
  if (points.length % 2 !== 0 || points.length === 0) throw new UsageError(`formatPts: ${points.length} values is not a list of x,y pairs`);
  const rows: string[] = ["version: 1", `n_points: ${points.length / 2}`, "{"];
  for (let i = 0; i < points.length; i += 2) {
    if (!Number.isFinite(points[i]) || !Number.isFinite(points[i + 1]))
      throw new UsageError(`formatPts: point ${i / 2} is not finite (${points[i]}, ${points[i + 1]})`);
    rows.push(`${points[i].toFixed(6)} ${points[i + 1].toFixed(6)}`);
  }
  rows.push("}");
  return rows.join("\n") + "\n";
}
