import { describe, expect, it } from "vitest";
import {
  EVAL_NORMS,
  METRICS,
  METRIC_INFO,
  NORM_KINDS,
  NORM_LABELS,
  PROTOCOLS,
  PROTOCOL_LABELS,
  REGIMES,
  REGIME_TRAITS,
  RUN_STATUSES,
  ACTIVE_STATUSES,
  TERMINAL_STATUSES,
  TEST_SETS,
  TEST_SET_INFO,
  SPLIT_LABELS,
  VALIDATION_SETS,
  VALIDATION_SET_INFO,
  bestProtocol,
  isValidationSet,
  isActiveStatus,
  isRequeueableStatus,
  lowerIsBetter,
  modelPoints,
  protocolFallback,
  streamsRealImages,
} from "../src/study";

describe("study vocabulary", () => {
  it("describes each regime's data and networks", () => {
    expect(REGIMES.filter(streamsRealImages)).toEqual(["syn-real-label-adaptation", "uda-discriminator"]);
    expect(REGIMES.filter((r) => REGIME_TRAITS[r].needsTransferNet)).toEqual(["syn-real-label-adaptation"]);
    expect(REGIMES.filter((r) => REGIME_TRAITS[r].needsDiscriminator)).toEqual(["uda-discriminator"]);
    expect(REGIMES.filter((r) => REGIME_TRAITS[r].usesRealLabels)).toEqual(["syn-real-label-adaptation", "supervised-real"]);
    expect(REGIMES.map((r) => modelPoints(r, 490))).toEqual([490, 490, 490, 68]);
  });

  it("labels every member of every list", () => {
    for (const r of REGIMES) expect(REGIME_TRAITS[r].label).toBeTruthy();
    for (const t of TEST_SETS) expect(TEST_SET_INFO[t].label).toBeTruthy();
    for (const p of PROTOCOLS) expect(PROTOCOL_LABELS[p]).toBeTruthy();
    for (const n of NORM_KINDS) expect(NORM_LABELS[n]).toBeTruthy();
    for (const m of METRICS) expect(METRIC_INFO[m].label).toBeTruthy();
    expect(EVAL_NORMS.every((n) => NORM_KINDS.includes(n))).toBe(true);
  });

  it("falls back to protocols that need no mapping", () => {
    expect(protocolFallback("nearest-subset", "synthetic-test")).toEqual(["nearest-subset", "direct", "dense"]);
    expect(protocolFallback("test-time-mlp", "common")).toEqual(["test-time-mlp", "direct"]);
    expect(bestProtocol(["direct", "nearest-subset", "dense"])).toBe("nearest-subset");
    expect(bestProtocol(["dense"])).toBe("dense");
  });

  it("keeps the validation sets, one per domain, apart from the test sets (the tables' default columns)", () => {
    expect(VALIDATION_SETS.map((v) => VALIDATION_SET_INFO[v].domain)).toEqual(["synthetic", "real"]);
    expect(VALIDATION_SETS.some((v) => (TEST_SETS as readonly string[]).includes(v))).toBe(false);
    expect(TEST_SETS.some(isValidationSet)).toBe(false);
    for (const v of VALIDATION_SETS) expect(SPLIT_LABELS[v]).toMatch(/validation/);
    // a synthetic validation cell falls back to dense like the synthetic test
    expect(protocolFallback("nearest-subset", "synthetic-val")).toEqual(["nearest-subset", "direct", "dense"]);
    expect(protocolFallback("nearest-subset", "real-val")).toEqual(["nearest-subset", "direct"]);
  });

  it("knows which way each metric improves and which statuses are finished", () => {
    expect(METRICS.filter(lowerIsBetter)).toEqual(["nme", "fr8", "fr10"]);
    expect([...ACTIVE_STATUSES, ...TERMINAL_STATUSES].sort()).toEqual([...RUN_STATUSES].sort());
    expect(RUN_STATUSES.filter(isRequeueableStatus)).toEqual(["FAILED", "CANCELED"]);
    expect(RUN_STATUSES.filter(isActiveStatus)).toEqual(["QUEUED", "RUNNING"]);
  });
});
