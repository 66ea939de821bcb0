export * from "./run-config";
export * from "./errors";
