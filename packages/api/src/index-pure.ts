/**
 * The database-free part of the API (tables, exports, statistics): what `lml report` and the browser
 * bundle may import without pulling in Prisma.
 */
export * from "./tables";
export * from "./export";
export { pairedTTest, mean, std, tTwoSidedP } from "./stats";
