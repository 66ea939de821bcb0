/**
 * The results tables and their exports without the routers: what `lml report` imports.
 * (Client components import "@lml/api/format", which needs no database and only core's import-free study.ts.)
 */
export * from "./format";
export * from "./tables";
export * from "./export";
