// 2-D max and average pooling (NHWC) and their gradients, on oneDNN's pooling primitives.
// Average pooling excludes padding from the count, as TensorFlow does. The max-pool gradient re-runs the
// forward pass in training mode to get oneDNN's workspace (the arg-max positions): tfjs's MaxPoolGrad
// receives x and y, not a workspace, and the forward pass is cheap next to a convolution.
//
// Shape arguments: kind (0 max, 1 average), B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop,
// padLeft, padBottom, padRight.
#include "common.h"

namespace lml {
namespace {

struct PoolShape {
  int64_t kind, B, H, W, C, KH, KW, OH, OW, sh, sw, pt, pl, pb, pr;
  static PoolShape read(const Args& a, size_t first) {
    const char* names[] = {"kind", "B", "H", "W", "C", "KH", "KW", "OH", "OW", "strideH", "strideW", "padTop", "padLeft", "padBottom", "padRight"};
    int64_t v[15];
    for (size_t i = 0; i < 15; i++) v[i] = a.i64(first + i, names[i]);
    PoolShape s{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
    if (s.kind != 0 && s.kind != 1) a.fail("kind must be 0 (max) or 1 (average)");
    for (size_t i = 1; i < 11; i++) {
      if (v[i] < 1) a.fail(std::string(names[i]) + " must be ≥ 1");
    }
    return s;
  }
  std::vector<int64_t> key() const { return {kind, B, H, W, C, KH, KW, OH, OW, sh, sw, pt, pl, pb, pr}; }
  int64_t x_size() const { return B * H * W * C; }
  int64_t y_size() const { return B * OH * OW * C; }
  dnnl::memory::desc x_md() const { return {{B, C, H, W}, dt::f32, tag::nhwc}; }
  dnnl::memory::desc y_md() const { return {{B, C, OH, OW}, dt::f32, tag::nhwc}; }
  dnnl::algorithm algorithm() const {
    return kind == 0 ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  dnnl::pooling_forward::primitive_desc forward_pd(dnnl::prop_kind prop) const {
    dnnl::pooling_forward::desc d(prop, algorithm(), x_md(), y_md(), {sh, sw}, {KH, KW}, {pt, pl}, {pb, pr});
    return dnnl::pooling_forward::primitive_desc(d, cpu_engine());
  }
};

struct Runner {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};

struct Backward {
  Runner forward;  // max pooling only: recomputes the workspace
  Runner backward;
  std::vector<float> y_scratch;
};

PrimitiveCache<Runner> forward_cache;
PrimitiveCache<Backward> backward_cache;

// pool(x, y, ...shape)
Napi::Value Pool(const Napi::CallbackInfo& info) {
  return guarded(info, "pool", [&]() -> Napi::Value {
    Args a(info, "pool");
    PoolShape s = PoolShape::read(a, 2);
    float* x = a.f32(0, s.x_size(), "x");
    float* y = a.f32(1, s.y_size(), "y");
    Runner& r = forward_cache.get(key_of("pool_fwd", s.key()), [&] {
      auto pd = s.forward_pd(dnnl::prop_kind::forward_inference);
      auto e = std::make_unique<Runner>();
      e->prim = dnnl::pooling_forward(pd);
      e->args[DNNL_ARG_SRC] = user_memory(s.x_md());
      e->args[DNNL_ARG_DST] = user_memory(s.y_md());
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DST].set_data_handle(y);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

// poolGrad(dy, x | null (average), dx, ...shape)
Napi::Value PoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "poolGrad", [&]() -> Napi::Value {
    Args a(info, "poolGrad");
    PoolShape s = PoolShape::read(a, 3);
    float* dy = a.f32(0, s.y_size(), "dy");
    float* x = s.kind == 0 ? a.f32(1, s.x_size(), "x") : nullptr;
    float* dx = a.f32(2, s.x_size(), "dx");
    Backward& r = backward_cache.get(key_of("pool_bwd", s.key()), [&] {
      auto fwd = s.forward_pd(dnnl::prop_kind::forward_training);
      dnnl::pooling_backward::desc d(s.algorithm(), s.x_md(), s.y_md(), {s.sh, s.sw}, {s.KH, s.KW}, {s.pt, s.pl}, {s.pb, s.pr});
      dnnl::pooling_backward::primitive_desc pd(d, cpu_engine(), fwd);
      auto e = std::make_unique<Backward>();
      e->backward.prim = dnnl::pooling_backward(pd);
      e->backward.args[DNNL_ARG_DIFF_DST] = user_memory(s.y_md());
      e->backward.args[DNNL_ARG_DIFF_SRC] = user_memory(s.x_md());
      if (s.kind == 0) {
        e->y_scratch.assign(s.y_size(), 0.f);
        dnnl::memory ws(fwd.workspace_desc(), cpu_engine());
        e->forward.prim = dnnl::pooling_forward(fwd);
        e->forward.args[DNNL_ARG_SRC] = user_memory(s.x_md());
        e->forward.args[DNNL_ARG_DST] = dnnl::memory(s.y_md(), cpu_engine(), e->y_scratch.data());
        e->forward.args[DNNL_ARG_WORKSPACE] = ws;
        e->backward.args[DNNL_ARG_WORKSPACE] = ws;
      }
      count_primitive();
      return e;
    });
    if (s.kind == 0) {
      r.forward.args[DNNL_ARG_SRC].set_data_handle(x);
      r.forward.prim.execute(cpu_stream(), r.forward.args);
    }
    r.backward.args[DNNL_ARG_DIFF_DST].set_data_handle(dy);
    r.backward.args[DNNL_ARG_DIFF_SRC].set_data_handle(dx);
    r.backward.prim.execute(cpu_stream(), r.backward.args);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_pooling(Napi::Env env, Napi::Object exports) {
  exports.Set("pool", Napi::Function::New(env, Pool));
  exports.Set("poolGrad", Napi::Function::New(env, PoolGrad));
}

}  // namespace lml
