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

function constraintName(err: Prisma.PrismaClientKnownRequestError): string {
  const meta = (err.meta ?? {}) as Record<string, unknown>;
  const adapter = meta.driverAdapterError as { cause?: { constraint?: unknown } } | undefined;
  const c = meta.constraint ?? meta.target ?? meta.field_name ?? adapter?.cause?.constraint;
  if (Array.isArray(c)) return c.join(", ");
  if (c && typeof c === "object") return JSON.stringify(c);
  return c ? String(c) : "?";
}

/** Rethrows Prisma's unique/foreign-key/not-found errors as a ConstraintError with `context` in front. */
export function rethrowConstraint(err: unknown, context: string): never {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    switch (err.code) {
      case "P2002":
        throw new ConstraintError(`${context}: already exists (unique constraint on ${constraintName(err)})`, "unique", { cause: err });
      case "P2003":
        throw new ConstraintError(`${context}: refers to a row that does not exist (foreign key ${constraintName(err)})`, "foreign-key", { cause: err });
      case "P2025":
        throw new ConstraintError(`${context}: not found`, "not-found", { cause: err });
      case "P2011":
        throw new ConstraintError(`${context}: a required value is null (${constraintName(err)})`, "check", { cause: err });
    }
  }
  throw err;
}
