export { emptyStatusCounts, listGrids } from "./grids";
export type { GridSummary, StatusCounts } from "./grids";
export { getRun } from "./runs";
export type { RunWithGrid } from "./runs";
export { appendMetricPoints, getMetricPoints, NewMetricPoint } from "./metrics";
export { listEvaluations, writeEvaluations, NewEvaluation } from "./evaluations";
export { getArtifact, listArtifacts, putArtifact, NewArtifact } from "./artifacts";
