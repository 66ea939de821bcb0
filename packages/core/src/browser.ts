/**
 * `@lml/core/browser`: everything that runs in a browser bundle (no node:fs, no sharp), for the
 * dashboard's client components. The Node-only parts (.pts files, the 300-W loader) are in "@lml/core".
 */
export * from "./study";
export * from "./run-config";
export * from "./run-config-rules";
export * from "./errors";
export * from "./scheme";
export * from "./ibug68";
export * from "./subset";
export * from "./metrics";
export * from "./stats";
export * from "./rng";
export * from "./grid-spec";
export * from "./face-framing";
export { parsePts, formatPts, PTS_TO_PIXEL_OFFSET } from "./pts-text";
