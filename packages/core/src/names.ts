import { z } from "zod";
import { showValue } from "./issue-messages";

/**
 * Names people give things (grids, and the run names built from them): printable Unicode text. They are
 * echoed to terminals (`lml grid status`), tables and exports, so a name must not carry what a terminal
 * or a text file would act on instead of showing: control characters (NUL, ESC of ANSI sequences,
 * newlines, tabs), line and paragraph separators, bidirectional-text controls (they reorder what is
 * shown), and lone surrogates (not text at all; PostgreSQL refuses them).
 */

/** Longest grid name (a spec's `name`). */
export const NAME_MAX_LENGTH = 200;

const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\p{Bidi_Control}]/u;

function kindOf(ch: string): string {
  if (/\p{Cc}/u.test(ch)) return "a control character";
  if (/\p{Cs}/u.test(ch)) return "a lone surrogate";
  if (/\p{Bidi_Control}/u.test(ch)) return "a bidirectional-text control";
  return "a line or paragraph separator";
}

/**
 * Why `name` is not a printable name (e.g. `contains a control character (U+001B) at character 3`),
 * or null when it is one.
 */
export function nameProblem(name: string): string | null {
  if (!/\S/u.test(name)) return "must contain a visible character";
  const m = FORBIDDEN.exec(name);
  if (!m) return null;
  const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return `contains ${kindOf(m[0])} (U+${code}) at character ${m.index + 1}; names must be printable text`;
}

/** A name as a zod schema: 1 to `max` characters of printable text. */
export function nameSchema(max = NAME_MAX_LENGTH) {
  return z
    .string()
    .min(1)
    .max(max)
    .superRefine((name, ctx) => {
      const problem = nameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: `${problem}, got ${showValue(name)}`, input: name });
    });
}
