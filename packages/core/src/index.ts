export * from "./run-config";
export * from "./errors";
export * from "./scheme";
export * from "./ibug68";
export * from "./subset";
export * from "./metrics";
export * from "./stats";
