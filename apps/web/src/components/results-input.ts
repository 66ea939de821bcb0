/**
 * The results tables' query input, one definition for the page's server prefetch and the panel, so the
 * streamed first answer is the very query the panel asks for.
 */
import { DEFAULT_NORM } from "@lml/core/study";
import type { Metric, Norm } from "@lml/api/format";

export interface ResultsView {
  norm: Norm;
  metric: Metric;
  groupBy: string[];
  filter: Record<string, string>;
}

export const DEFAULT_RESULTS_VIEW: ResultsView = { norm: DEFAULT_NORM, metric: "nme", groupBy: [], filter: {} };

/** Reference rows always come along (they are small); the page's toggle only hides them. */
export function resultsInput(gridId: string, view: ResultsView = DEFAULT_RESULTS_VIEW) {
  return { gridId, norm: view.norm, metric: view.metric, groupBy: view.groupBy, filter: view.filter, reference: true };
}
