/**
 * Parsing a RunConfig where it enters the engine: `lml train` (a file) and the queue worker (a stored
 * run). Once parsed, a `RunConfig` is passed on as is; `train()` takes it and never parses again.
 */
import { RunConfigSchema, UsageError, type RunConfig } from "@lml/core";

/**
 * `raw` as a RunConfig (defaults filled in, every cross-field rule of core's schema checked), or a
 * UsageError "<where>: <field>: <problem>; …" naming every field that is wrong. A UsageError is
 * deterministic: the worker fails such a run at once instead of retrying it.
 */
export function parseRunConfig(raw: unknown, where: string): RunConfig {
  const parsed = RunConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new UsageError(`${where}: ${problems.join("; ")}`);
}
