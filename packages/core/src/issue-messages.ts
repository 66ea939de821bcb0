import type { z } from "zod";

/**
 * zod issues as the messages users see: "<field path>: <what>, got <value>", e.g.
 * `parameters.train.lr.values[2]: expected number, got "fast"` or, for a cross-field rule of
 * run-config-rules.ts, `model.heatmapSize: 8 must be divisible by 2^model.depth = 16 (model.depth: 4)`.
 */

/**
 * A value as a message quotes it: JSON (so control characters arrive escaped), cut at 60 characters;
 * numbers JSON cannot write (NaN, ±Infinity, e.g. YAML's `.nan`) as themselves, not as JSON's `null`.
 */
export function showValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 60) + "…" : s;
}

function joinPath(base: string, rest: ReadonlyArray<PropertyKey>): string {
  let out = base;
  for (const k of rest) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || "(top level)";
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = root;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** One zod issue as "<path>: <what>, got <value>". */
export function describeIssue(base: string, issue: z.core.$ZodIssue, input: unknown): string {
  const value = valueAt(input, issue.path);
  const at = joinPath(base, issue.path);
  switch (issue.code) {
    case "invalid_type":
      return `${at}: expected ${issue.expected}, got ${showValue(value)}`;
    case "invalid_value":
      return `${at}: expected ${issue.values.map((v) => showValue(v)).join(" or ")}, got ${showValue(value)}`;
    case "too_small":
      return issue.origin === "number" || issue.origin === "int"
        ? `${at}: must be ${issue.inclusive ? "≥" : ">"} ${issue.minimum}, got ${showValue(value)}`
        : `${at}: ${issue.message}`;
    case "too_big":
      return issue.origin === "number" || issue.origin === "int"
        ? `${at}: must be ${issue.inclusive ? "≤" : "<"} ${issue.maximum}, got ${showValue(value)}`
        : `${at}: ${issue.message}`;
    case "custom":
      // A cross-field rule (run-config-rules.ts): its message already names the other fields.
      return `${at}: ${issue.message}`;
    case "unrecognized_keys":
      return issue.keys.map((k) => `${joinPath(at === "(top level)" ? "" : at, [k])}: unknown field`).join("; ");
    case "invalid_union": {
      // A discriminated union (data.real) with an unknown discriminator value.
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options) && options.length)
        return `${at}: expected ${options.map((v) => showValue(v)).join(" or ")}, got ${showValue(value)}`;
      if (issue.message !== "Invalid input") return `${at}: ${issue.message}, got ${showValue(value)}`;
      // A union of literals (inputChannels: 1 | 3): list the allowed values.
      const allowed = issue.errors.flat().flatMap((e) => (e.code === "invalid_value" ? e.values : []));
      if (allowed.length && allowed.length === issue.errors.length)
        return `${at}: expected ${allowed.map((v) => showValue(v)).join(" or ")}, got ${showValue(value)}`;
      // A discriminated union with a bad discriminator, or the first failing branch's reason.
      const first = issue.errors.find((e) => e.length)?.[0];
      if (first) return describeIssue(at, first, value);
      return `${at}: ${issue.message}, got ${showValue(value)}`;
    }
    default:
      return `${at}: ${issue.message}, got ${showValue(value)}`;
  }
}
