/**
 * Sum, Mean, Max, Min, Prod over one contiguous run of axes (the shape is read as [outer, R, inner]),
 * without the cpu backend's transpose to put the axes last. Other axis sets go to the cpu kernels.
 */
import { util, type TensorInfo } from "@tensorflow/tfjs-core";
import { allFloat32, sizeOf } from "../backend.js";
import { nativeKernel } from "./kernel.js";

const OPS = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4 } as const;

export const reduceKernels = Object.entries(OPS).map(([name, op]) =>
  nativeKernel<{ x: TensorInfo }, { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean }>(
    name,
    ({ inputs, attrs, backend }) => {
      const { x } = inputs;
      if (!allFloat32(x)) return null;
      // null/undefined axis: every axis (parseAxisParam handles it).
      const axes = util.parseAxisParam((name === "Max" ? attrs.reductionIndices : attrs.axis) as number[], x.shape).sort((p, q) => p - q);
      if (axes.length === 0) return null;
      for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return null;
      const first = axes[0];
      const last = axes[axes.length - 1];
      const outer = sizeOf(x.shape.slice(0, first));
      const R = sizeOf(x.shape.slice(first, last + 1));
      const inner = sizeOf(x.shape.slice(last + 1));
      if (R === 0) return null;
      const shape = attrs.keepDims
        ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
        : x.shape.filter((_, i) => i < first || i > last);
      const out = backend.alloc(outer * inner);
      backend.addon.reduce(op, backend.f32(x), out, outer, R, inner);
      return backend.output(shape, out);
    },
  ),
);
