export * from "./types";
export { renderSample, GENERATOR_VERSION } from "./render";
export { getScheme } from "./scheme";
export { createDataset } from "./dataset";
