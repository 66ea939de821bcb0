// Data movement: transpose (any permutation, as a oneDNN reorder between strided descriptors) and
// concatenation along an axis (row copies).
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

}  // namespace

void register_layout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("concat", Napi::Function::New(env, Concat));
}

}  // namespace lml
