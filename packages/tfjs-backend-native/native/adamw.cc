// One fused AdamW step over every parameter (Loshchilov & Hutter; decoupled weight decay), the update
// packages/training's AdamW performs in JS, in one call instead of a loop per variable:
//   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  x ← x·(1 − lr·wd) − lr/(1−β1ᵗ) · m / (sqrt(v/(1−β2ᵗ)) + ε)
// The arithmetic is done in double and stored as float32 exactly as the JS loop does (JS numbers are
// doubles; the new moments enter the update unrounded, as the value of a JS assignment expression does;
// Math.sqrt and std::sqrt are both correctly rounded; the scalars step = lr/(1−β1ᵗ), c2 = 1−β2ᵗ and
// decay = 1 − lr·wd come from the caller, computed by JS's own pow), so both give bit-identical weights
// and moments, and a checkpoint written by one resumes on the other.
#include <cmath>

#include "common.h"

namespace lml {
namespace {

// adamw(params, grads (entries may be null: gradient 0), outs, m, v, beta1, beta2, eps, step, c2, decay)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  return guarded(info, "adamw", [&]() -> Napi::Value {
    Args a(info, "adamw");
    std::vector<size_t> sizes, out_sizes;
    auto params = a.f32s(0, "params", &sizes);
    auto outs = a.f32s(2, "outs", &out_sizes);
    if (!info[1].IsArray()) a.fail("grads must be an array");
    auto grads_js = info[1].As<Napi::Array>();
    if (grads_js.Length() != params.size() || outs.size() != params.size()) a.fail("params, grads and outs must have the same length");
    std::vector<const float*> grads(params.size(), nullptr);
    size_t total = 0;
    for (size_t k = 0; k < params.size(); k++) {
      Napi::Value g = grads_js[static_cast<uint32_t>(k)];
      if (!g.IsNull() && !g.IsUndefined()) {
        if (!g.IsTypedArray() || g.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
            g.As<Napi::Float32Array>().ElementLength() != sizes[k]) {
          a.fail("grads[" + std::to_string(k) + "] must be a Float32Array the size of params[" + std::to_string(k) + "]");
        }
        grads[k] = g.As<Napi::Float32Array>().Data();
      }
      if (out_sizes[k] != sizes[k]) a.fail("outs[" + std::to_string(k) + "] must be the size of params[" + std::to_string(k) + "]");
      total += sizes[k];
    }
    float* m = a.f32(3, static_cast<int64_t>(total), "m");
    float* v = a.f32(4, static_cast<int64_t>(total), "v");
    const double b1 = a.num(5, "beta1"), b2 = a.num(6, "beta2"), eps = a.num(7, "eps");
    const double step = a.num(8, "step"), c2 = a.num(9, "c2"), decay = a.num(10, "decay");
    size_t offset = 0;
    for (size_t k = 0; k < params.size(); k++) {
      const float* x = params[k];
      const float* g = grads[k];
      float* out = outs[k];
      float* mk = m + offset;
      float* vk = v + offset;
      const int64_t n = static_cast<int64_t>(sizes[k]);
      parallel_for(n, n, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i++) {
          const double gi = g ? g[i] : 0.0;
          const double mi = b1 * mk[i] + (1 - b1) * gi;
          const double vi = b2 * vk[i] + (1 - b2) * gi * gi;
          mk[i] = static_cast<float>(mi);
          vk[i] = static_cast<float>(vi);
          out[i] = static_cast<float>(x[i] * decay - (step * mi) / (std::sqrt(vi / c2) + eps));
        }
      });
      offset += sizes[k];
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void register_adamw(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamW));
}

}  // namespace lml
