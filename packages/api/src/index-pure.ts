/**
 * The results tables and their exports without the routers: what `lml report` imports.
 * (Client components import "@lml/api/format", which needs neither core nor the database.)
 */
export * from "./format";
export * from "./tables";
export * from "./export";
