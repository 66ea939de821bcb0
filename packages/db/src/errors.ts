// Turning database failures into messages a user can act on.
import { UsageError } from "@lml/core";
import type { z } from "zod";
import { Prisma } from "./generated/prisma/client";

/** A write broke a constraint: names the constraint and what it means for this call. */
export class ConstraintError extends Error {
  constructor(
    message: string,
    readonly code: "unique" | "foreign-key" | "not-found" | "check",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ConstraintError";
  }
}

/** Validates repository input; bad input is a UsageError naming the function and the field path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "(input)";
  throw new UsageError(`${what}: ${path}: ${issue?.message ?? "invalid"}`);
}

interface AdapterCause {
  originalCode?: string;
  originalMessage?: string;
  kind?: string;
  constraint?: { index?: string; fields?: string[] } | string;
}

function adapterCause(err: Prisma.PrismaClientKnownRequestError): AdapterCause {
  const meta = (err.meta ?? {}) as { driverAdapterError?: { cause?: AdapterCause } };
  return meta.driverAdapterError?.cause ?? {};
}

function constraintName(err: Prisma.PrismaClientKnownRequestError): string {
  const meta = (err.meta ?? {}) as Record<string, unknown>;
  const c = adapterCause(err).constraint ?? meta.constraint ?? meta.target ?? meta.field_name;
  if (typeof c === "object" && c !== null && !Array.isArray(c)) {
    const o = c as { index?: string; fields?: string[] };
    return o.index ?? o.fields?.join(", ") ?? JSON.stringify(c);
  }
  if (Array.isArray(c)) return c.join(", ");
  return c ? String(c) : "?";
}

// SQLSTATE of the violation, whether Prisma mapped it (P2002/P2003/...) or it came from a raw query (P2010).
const BY_SQLSTATE: Record<string, ConstraintError["code"]> = {
  "23505": "unique",
  "23503": "foreign-key",
  "23502": "check",
  "23514": "check",
};
const BY_PRISMA_CODE: Record<string, ConstraintError["code"]> = {
  P2002: "unique",
  P2003: "foreign-key",
  P2011: "check",
  P2025: "not-found",
};

/** Rethrows unique/foreign-key/not-null/check/not-found errors as a ConstraintError with `context` in front. */
export function rethrowConstraint(err: unknown, context: string): never {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    const cause = adapterCause(err);
    const code = BY_PRISMA_CODE[err.code] ?? (cause.originalCode ? BY_SQLSTATE[cause.originalCode] : undefined);
    const name = constraintName(err);
    switch (code) {
      case "unique":
        throw new ConstraintError(`${context}: already exists (unique constraint on ${name})`, code, { cause: err });
      case "foreign-key":
        throw new ConstraintError(`${context}: refers to a row that does not exist (foreign key ${name})`, code, { cause: err });
      case "not-found":
        throw new ConstraintError(`${context}: not found`, code, { cause: err });
      case "check":
        throw new ConstraintError(`${context}: ${cause.originalMessage ?? `violates ${name}`}`, code, { cause: err });
    }
  }
  throw err;
}
