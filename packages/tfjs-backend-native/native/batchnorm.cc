// Batch normalisation over all axes but the last (NHWC), optionally followed by ReLU, on oneDNN's
// batch_normalization primitives (ReLU fused through oneDNN's fuse_norm_relu flag). The contract is the
// custom kernels of packages/training's backend/ops.ts:
//   forward (training)  x, gamma, beta, eps   → y, mean, variance (biased), rstd = 1/sqrt(variance + eps)
//   backward            dy, x, mean, rstd, gamma (+ y after a fused ReLU: dy counts where y > 0)
//                                             → dx, dgamma, dbeta
//   forward (inference) x, gamma, beta, mean, variance, eps → y
// The backward kernel receives rstd, not the variance: it hands oneDNN variance' = 1/rstd² with ε = 0,
// which makes oneDNN's 1/sqrt(variance' + ε) exactly the forward pass's rstd.
//
// Shape arguments: N, H, W, C (a rank-2 or rank-3 tensor comes as N·… × 1 × 1 × C).
#include <cmath>

#include "common.h"

namespace lml {
namespace {

using flags = dnnl::normalization_flags;

struct BnShape {
  int64_t N, H, W, C;
  static BnShape read(const Args& a, size_t first) {
    BnShape s{a.i64(first, "N"), a.i64(first + 1, "H"), a.i64(first + 2, "W"), a.i64(first + 3, "C")};
    if (s.N < 1 || s.H < 1 || s.W < 1 || s.C < 1) a.fail("N, H, W and C must be ≥ 1");
    return s;
  }
  int64_t size() const { return N * H * W * C; }
  dnnl::memory::desc data_md() const { return {{N, C, H, W}, dt::f32, tag::nhwc}; }
  dnnl::memory::desc channel_md() const { return {{C}, dt::f32, tag::a}; }
};

const flags kFlags = flags::use_scale | flags::use_shift;

struct Forward {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};

struct Backward {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  std::vector<float> variance, zeros, masked_dy;
};

PrimitiveCache<Forward> forward_cache;
PrimitiveCache<Forward> inference_cache;
PrimitiveCache<Backward> backward_cache;

dnnl::batch_normalization_forward::primitive_desc forward_pd(const BnShape& s, float eps, bool relu) {
  dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_training, s.data_md(), eps,
                                            relu ? kFlags | flags::fuse_norm_relu : kFlags);
  return dnnl::batch_normalization_forward::primitive_desc(d, cpu_engine());
}

int64_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// batchNormTrain(x, gamma, beta, y, mean, variance, rstd, N, H, W, C, eps, relu)
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormTrain", [&]() -> Napi::Value {
    Args a(info, "batchNormTrain");
    BnShape s = BnShape::read(a, 7);
    const float eps = static_cast<float>(a.num(11, "eps"));
    const bool relu = a.flag(12);
    float* x = a.f32(0, s.size(), "x");
    float* gamma = a.f32(1, s.C, "gamma");
    float* beta = a.f32(2, s.C, "beta");
    float* y = a.f32(3, s.size(), "y");
    float* mean = a.f32(4, s.C, "mean");
    float* variance = a.f32(5, s.C, "variance");
    float* rstd = a.f32(6, s.C, "rstd");
    // eps is part of the primitive (its bits make the key exact).
    Forward& r = forward_cache.get(key_of("bn_fwd", {s.N, s.H, s.W, s.C, bits_of(eps), relu}), [&] {
      auto pd = forward_pd(s, eps, relu);
      auto e = std::make_unique<Forward>();
      e->prim = dnnl::batch_normalization_forward(pd);
      for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) e->args[arg] = user_memory(s.data_md());
      for (int arg : {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE}) e->args[arg] = user_memory(s.channel_md());
      // The ReLU mask oneDNN writes for its own backward pass; ours recomputes it from y.
      if (relu) e->args[DNNL_ARG_WORKSPACE] = dnnl::memory(pd.workspace_desc(), cpu_engine());
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DST].set_data_handle(y);
    r.args[DNNL_ARG_SCALE].set_data_handle(gamma);
    r.args[DNNL_ARG_SHIFT].set_data_handle(beta);
    r.args[DNNL_ARG_MEAN].set_data_handle(mean);
    r.args[DNNL_ARG_VARIANCE].set_data_handle(variance);
    r.prim.execute(cpu_stream(), r.args);
    for (int64_t c = 0; c < s.C; c++) rstd[c] = 1.f / std::sqrt(variance[c] + eps);
    return info.Env().Undefined();
  });
}

// batchNormGrad(dy, x, mean, rstd, gamma, dx, dgamma, dbeta, N, H, W, C, y | null)
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormGrad", [&]() -> Napi::Value {
    Args a(info, "batchNormGrad");
    BnShape s = BnShape::read(a, 8);
    const float* relu_y = a.f32_or_null(12, s.size(), "y");
    float* dy = a.f32(0, s.size(), "dy");
    float* x = a.f32(1, s.size(), "x");
    float* mean = a.f32(2, s.C, "mean");
    float* rstd = a.f32(3, s.C, "rstd");
    float* gamma = a.f32(4, s.C, "gamma");
    float* dx = a.f32(5, s.size(), "dx");
    float* dgamma = a.f32(6, s.C, "dgamma");
    float* dbeta = a.f32(7, s.C, "dbeta");
    Backward& r = backward_cache.get(key_of("bn_bwd", {s.N, s.H, s.W, s.C, relu_y != nullptr}), [&] {
      auto hint = forward_pd(s, 0.f, false);
      dnnl::batch_normalization_backward::desc d(dnnl::prop_kind::backward, s.data_md(), s.data_md(), 0.f, kFlags);
      dnnl::batch_normalization_backward::primitive_desc pd(d, cpu_engine(), hint);
      auto e = std::make_unique<Backward>();
      e->prim = dnnl::batch_normalization_backward(pd);
      e->variance.assign(s.C, 0.f);
      e->zeros.assign(s.C, 0.f);
      if (relu_y) e->masked_dy.assign(s.size(), 0.f);
      for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC}) e->args[arg] = user_memory(s.data_md());
      for (int arg : {DNNL_ARG_SCALE, DNNL_ARG_MEAN, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT}) e->args[arg] = user_memory(s.channel_md());
      e->args[DNNL_ARG_VARIANCE] = dnnl::memory(s.channel_md(), cpu_engine(), e->variance.data());
      // oneDNN 2.6 refuses to run backward with use_shift unless a shift is bound (it is not read).
      e->args[DNNL_ARG_SHIFT] = dnnl::memory(s.channel_md(), cpu_engine(), e->zeros.data());
      count_primitive();
      return e;
    });
    for (int64_t c = 0; c < s.C; c++) r.variance[c] = 1.f / (rstd[c] * rstd[c]);
    if (relu_y) {
      // Through the fused ReLU: the gradient passes where its output was positive.
      float* m = r.masked_dy.data();
      parallel_for(s.size(), s.size(), [&](int64_t begin, int64_t end) {
        // Loads first, then a select: GCC turns that into a vector blend; `y > 0 ? dy : 0` with the load
        // inside the condition stays a branch that mispredicts on half the activations (25× slower).
        for (int64_t i = begin; i < end; i++) {
          const float d = dy[i], v = relu_y[i];
          m[i] = v > 0.f ? d : 0.f;
        }
      });
      dy = m;
    }
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DIFF_DST].set_data_handle(dy);
    r.args[DNNL_ARG_DIFF_SRC].set_data_handle(dx);
    r.args[DNNL_ARG_SCALE].set_data_handle(gamma);
    r.args[DNNL_ARG_MEAN].set_data_handle(mean);
    r.args[DNNL_ARG_DIFF_SCALE].set_data_handle(dgamma);
    r.args[DNNL_ARG_DIFF_SHIFT].set_data_handle(dbeta);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

// batchNormInfer(x, gamma, beta, mean, variance, y, N, H, W, C, eps, relu): with the running statistics.
Napi::Value BatchNormInfer(const Napi::CallbackInfo& info) {
  return guarded(info, "batchNormInfer", [&]() -> Napi::Value {
    Args a(info, "batchNormInfer");
    BnShape s = BnShape::read(a, 6);
    const float eps = static_cast<float>(a.num(10, "eps"));
    const bool relu = a.flag(11);
    float* x = a.f32(0, s.size(), "x");
    float* gamma = a.f32(1, s.C, "gamma");
    float* beta = a.f32(2, s.C, "beta");
    float* mean = a.f32(3, s.C, "mean");
    float* variance = a.f32(4, s.C, "variance");
    float* y = a.f32(5, s.size(), "y");
    Forward& r = inference_cache.get(key_of("bn_infer", {s.N, s.H, s.W, s.C, bits_of(eps), relu}), [&] {
      auto f = kFlags | flags::use_global_stats;
      dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, s.data_md(), eps,
                                                relu ? f | flags::fuse_norm_relu : f);
      dnnl::batch_normalization_forward::primitive_desc pd(d, cpu_engine());
      auto e = std::make_unique<Forward>();
      e->prim = dnnl::batch_normalization_forward(pd);
      for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) e->args[arg] = user_memory(s.data_md());
      for (int arg : {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE}) e->args[arg] = user_memory(s.channel_md());
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DST].set_data_handle(y);
    r.args[DNNL_ARG_SCALE].set_data_handle(gamma);
    r.args[DNNL_ARG_SHIFT].set_data_handle(beta);
    r.args[DNNL_ARG_MEAN].set_data_handle(mean);
    r.args[DNNL_ARG_VARIANCE].set_data_handle(variance);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_batchnorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("batchNormInfer", Napi::Function::New(env, BatchNormInfer));
}

}  // namespace lml
