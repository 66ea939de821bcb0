// Data movement: transpose (any permutation, as a oneDNN reorder between strided descriptors),
// concatenation along an axis, slicing, constant padding and gathering (row copies). The last four are
// loops over runs of contiguous floats: what tfjs-backend-cpu does per element through index arithmetic
// (measured: 1.4 s of JS for the 13 channel slices of one DALN training step, against milliseconds here).
#include <algorithm>

#include "common.h"

namespace lml {
namespace {

struct Reorder {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};
PrimitiveCache<Reorder> transpose_cache;

// transpose(x, y, xShape, perm): y.shape[i] = xShape[perm[i]].
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return guarded(info, "transpose", [&]() -> Napi::Value {
    Args a(info, "transpose");
    auto shape = a.ints(2, "xShape");
    auto perm = a.ints(3, "perm");
    const size_t r = shape.size();
    if (perm.size() != r || r == 0 || r > 6) a.fail("perm must match xShape's rank (1–6)");
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    float* x = a.f32(0, n, "x");
    float* y = a.f32(1, n, "y");
    if (n == 0) return info.Env().Undefined();
    std::vector<int64_t> key = shape;
    key.insert(key.end(), perm.begin(), perm.end());
    Reorder& e = transpose_cache.get(key_of("transpose", key), [&] {
      dims xstride(r), ydims(r), src_strides(r), ystride(r);
      int64_t k = 1;
      for (size_t i = r; i-- > 0;) {
        xstride[i] = k;
        k *= shape[i];
      }
      std::vector<bool> seen(r, false);
      for (size_t i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(r) || seen[perm[i]]) a.fail("perm is not a permutation");
        seen[perm[i]] = true;
        ydims[i] = shape[perm[i]];
        src_strides[i] = xstride[perm[i]];
      }
      k = 1;
      for (size_t i = r; i-- > 0;) {
        ystride[i] = k;
        k *= ydims[i];
      }
      dnnl::memory::desc src(ydims, dt::f32, src_strides), dst(ydims, dt::f32, ystride);
      auto p = std::make_unique<Reorder>();
      p->args[DNNL_ARG_FROM] = user_memory(src);
      p->args[DNNL_ARG_TO] = user_memory(dst);
      p->prim = dnnl::reorder(p->args[DNNL_ARG_FROM], p->args[DNNL_ARG_TO]);
      count_primitive();
      return p;
    });
    e.args[DNNL_ARG_FROM].set_data_handle(x);
    e.args[DNNL_ARG_TO].set_data_handle(y);
    e.prim.execute(cpu_stream(), e.args);
    return info.Env().Undefined();
  });
}

// concat(inputs, out, outer, sizes): row i of out is input 0's row i (sizes[0] floats), then input 1's…
Napi::Value Concat(const Napi::CallbackInfo& info) {
  return guarded(info, "concat", [&]() -> Napi::Value {
    Args a(info, "concat");
    std::vector<size_t> lens;
    auto xs = a.f32s(0, "inputs", &lens);
    const int64_t outer = a.i64(2, "outer");
    auto sizes = a.ints(3, "sizes");
    if (sizes.size() != xs.size()) a.fail("sizes must have one entry per input");
    int64_t row = 0;
    for (size_t k = 0; k < xs.size(); k++) {
      if (static_cast<int64_t>(lens[k]) != outer * sizes[k]) a.fail("inputs[" + std::to_string(k) + "] does not have outer × sizes[k] elements");
      row += sizes[k];
    }
    float* o = a.f32(1, outer * row, "out");
    const size_t m = xs.size();
    parallel_for(outer, outer * row, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        float* dst = o + i * row;
        for (size_t k = 0; k < m; k++) {
          std::memcpy(dst, xs[k] + i * sizes[k], sizeof(float) * sizes[k]);
          dst += sizes[k];
        }
      }
    });
    return info.Env().Undefined();
  });
}

/** Row-major strides of `shape`. */
std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t k = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = k;
    k *= shape[i];
  }
  return st;
}

/**
 * Copies the box `size` of a tensor with row-major strides `src_st` (starting at src) into a tensor with
 * strides `dst_st` (starting at dst). Trailing dimensions that are whole in both make one contiguous run.
 */
void copy_box(const float* src, const std::vector<int64_t>& src_st, float* dst, const std::vector<int64_t>& dst_st,
              const std::vector<int64_t>& size) {
  const size_t r = size.size();
  // The run: the innermost dimensions over which both sides are contiguous.
  size_t inner = r;
  int64_t run = 1;
  while (inner > 0 && src_st[inner - 1] == run && dst_st[inner - 1] == run) {
    run *= size[inner - 1];
    inner--;
  }
  if (inner == 0) {
    std::memcpy(dst, src, sizeof(float) * run);
    return;
  }
  // Rows over the outer dimensions; along the last non-run dimension a strided loop of runs (a single
  // float each when slicing channels one by one, so no memcpy call per float).
  const size_t last = inner - 1;
  const int64_t count = size[last], ss = src_st[last], ds = dst_st[last];
  int64_t rows = 1;
  for (size_t i = 0; i < last; i++) rows *= size[i];
  parallel_for(rows, rows * count * run, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      int64_t so = 0, d = 0, rem = row;
      for (size_t i = last; i-- > 0;) {
        const int64_t k = rem % size[i];
        rem /= size[i];
        so += k * src_st[i];
        d += k * dst_st[i];
      }
      const float* s = src + so;
      float* t = dst + d;
      if (run == 1) {
        for (int64_t j = 0; j < count; j++) t[j * ds] = s[j * ss];
      } else {
        for (int64_t j = 0; j < count; j++) std::memcpy(t + j * ds, s + j * ss, sizeof(float) * run);
      }
    }
  });
}

// slice(x, y, xShape, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return guarded(info, "slice", [&]() -> Napi::Value {
    Args a(info, "slice");
    auto shape = a.ints(2, "xShape");
    auto begin = a.ints(3, "begin");
    auto size = a.ints(4, "size");
    const size_t r = shape.size();
    if (begin.size() != r || size.size() != r) a.fail("begin and size must have xShape's rank");
    int64_t n = 1, m = 1;
    for (size_t i = 0; i < r; i++) {
      if (begin[i] < 0 || size[i] < 0 || begin[i] + size[i] > shape[i]) a.fail("the slice is outside the tensor");
      n *= shape[i];
      m *= size[i];
    }
    const float* x = a.f32(0, n, "x");
    float* y = a.f32(1, m, "y");
    if (m == 0) return info.Env().Undefined();
    auto xs = strides_of(shape);
    int64_t offset = 0;
    for (size_t i = 0; i < r; i++) offset += begin[i] * xs[i];
    copy_box(x + offset, xs, y, strides_of(size), size);
    return info.Env().Undefined();
  });
}

// pad(x, y, xShape, before, after, value): constant padding.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  return guarded(info, "pad", [&]() -> Napi::Value {
    Args a(info, "pad");
    auto shape = a.ints(2, "xShape");
    auto before = a.ints(3, "before");
    auto after = a.ints(4, "after");
    const float value = static_cast<float>(a.num(5, "value"));
    const size_t r = shape.size();
    if (before.size() != r || after.size() != r) a.fail("before and after must have xShape's rank");
    std::vector<int64_t> out(r);
    int64_t n = 1, m = 1;
    for (size_t i = 0; i < r; i++) {
      if (before[i] < 0 || after[i] < 0) a.fail("paddings must be ≥ 0");
      out[i] = before[i] + shape[i] + after[i];
      n *= shape[i];
      m *= out[i];
    }
    const float* x = a.f32(0, n, "x");
    float* y = a.f32(1, m, "y");
    std::fill(y, y + m, value);
    if (n == 0) return info.Env().Undefined();
    auto ys = strides_of(out);
    int64_t offset = 0;
    for (size_t i = 0; i < r; i++) offset += before[i] * ys[i];
    copy_box(x, strides_of(shape), y + offset, ys, shape);
    return info.Env().Undefined();
  });
}

// gather(x, indices (Int32Array), y, outer, axisSize, inner): y[o, j, :] = x[o, indices[j], :].
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return guarded(info, "gather", [&]() -> Napi::Value {
    Args a(info, "gather");
    const int64_t outer = a.i64(3, "outer"), axis = a.i64(4, "axisSize"), inner = a.i64(5, "inner");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) a.fail("indices must be an Int32Array");
    auto idx = info[1].As<Napi::Int32Array>();
    const int64_t k = static_cast<int64_t>(idx.ElementLength());
    const float* x = a.f32(0, outer * axis * inner, "x");
    float* y = a.f32(2, outer * k * inner, "y");
    const int32_t* ix = idx.Data();
    for (int64_t j = 0; j < k; j++) {
      if (ix[j] < 0 || ix[j] >= axis) a.fail("index " + std::to_string(ix[j]) + " is not in [0, " + std::to_string(axis - 1) + "]");
    }
    parallel_for(outer * k, outer * k * inner, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; row++) {
        const int64_t o = row / k, j = row % k;
        std::memcpy(y + row * inner, x + (o * axis + ix[j]) * inner, sizeof(float) * inner);
      }
    });
    return info.Env().Undefined();
  });
}

}  // namespace

void register_layout(Napi::Env env, Napi::Object exports) {
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("concat", Napi::Function::New(env, Concat));
}

}  // namespace lml
