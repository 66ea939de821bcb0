// 2-D convolution: forward (optionally + bias + ReLU), backward-data, backward-weights.
//
// Layouts are TensorFlow's: activations NHWC (oneDNN `nhwc` over dims {N, C, H, W}), filters
// [KH, KW, C, O] (oneDNN `hwio` over dims {O, C, KH, KW}). Activations stay in the caller's buffers
// (oneDNN's brgconv / jit kernels read and write NHWC directly at full speed, measured 160–235 GFLOP/s
// on one AVX-512 core for the model's layers); only the small filter is reordered into the blocked
// layout the primitive asks for, and the filter gradient back.
//
// 1×1 convolutions with stride 1 and no padding (most of the model's, and the heatmap heads) run as
// matrix products instead (oneDNN matmul, brgemm): the same arithmetic with no layout constraints,
// measured 190–225 GFLOP/s for all three directions where the NHWC convolution's backward-weights
// reached 70–115 on the 64↔490 heads.
//
// Shape arguments, in order (TensorFlow's Conv2DInfo): B, H, W, C, O, KH, KW, OH, OW, strideH, strideW,
// dilationH, dilationW (1 = none), padTop, padLeft, padBottom, padRight.
#include "common.h"

namespace lml {
namespace {

struct ConvShape {
  int64_t B, H, W, C, O, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, pb, pr;

  static ConvShape read(const Args& a, size_t first) {
    const char* names[] = {"B", "H", "W", "C", "O", "KH", "KW", "OH", "OW", "strideH", "strideW",
                           "dilationH", "dilationW", "padTop", "padLeft", "padBottom", "padRight"};
    int64_t v[17];
    for (size_t i = 0; i < 17; i++) v[i] = a.i64(first + i, names[i]);
    ConvShape s{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
    for (size_t i = 0; i < 13; i++) {
      if (v[i] < 1) a.fail(std::string(names[i]) + " must be ≥ 1, got " + std::to_string(v[i]));
    }
    return s;
  }
  /** A 1×1 convolution with stride 1 and no padding is one matrix product over the B·H·W pixels. */
  bool pointwise() const {
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
  }
  int64_t pixels() const { return B * H * W; }
  std::vector<int64_t> key() const { return {B, H, W, C, O, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, pb, pr}; }
  void describe() const {
    if (profiling_on()) {
      profile_detail(std::to_string(B) + "×" + std::to_string(H) + "×" + std::to_string(W) + " " + std::to_string(KH) + "×" +
                     std::to_string(KW) + " " + std::to_string(C) + "→" + std::to_string(O) + (sh > 1 ? " /" + std::to_string(sh) : ""));
    }
  }
  int64_t x_size() const { return B * H * W * C; }
  int64_t y_size() const { return B * OH * OW * O; }
  int64_t w_size() const { return KH * KW * C * O; }
  dnnl::memory::desc x_md(tag t = tag::nhwc) const { return {{B, C, H, W}, dt::f32, t}; }
  dnnl::memory::desc y_md(tag t = tag::nhwc) const { return {{B, O, OH, OW}, dt::f32, t}; }
  dnnl::memory::desc w_md(tag t = tag::hwio) const { return {{O, C, KH, KW}, dt::f32, t}; }
  dnnl::memory::desc b_md() const { return {{O}, dt::f32, tag::a}; }
  dims strides() const { return {sh, sw}; }
  dims dilation() const { return {dh - 1, dw - 1}; }
  dims pad_l() const { return {pt, pl}; }
  dims pad_r() const { return {pb, pr}; }

  dnnl::convolution_forward::primitive_desc forward_pd(bool bias, bool relu) const {
    auto wany = w_md(tag::any);
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                    x_md(), wany, b_md(), y_md(), strides(), dilation(), pad_l(), pad_r())
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                    x_md(), wany, y_md(), strides(), dilation(), pad_l(), pad_r());
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
  }
};

/** A primitive plus the fixed memory objects and argument map it runs with; buffers are set per call. */
struct Runner {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  // Filter in the caller's layout and, when the primitive wants another, the reorder to/from it.
  dnnl::memory user_w;
  dnnl::primitive w_reorder;
  std::unordered_map<int, dnnl::memory> reorder_args;
  bool reorder = false;
};

struct ConvForward : Runner {
  dnnl::memory x, y, b;
};

PrimitiveCache<ConvForward> forward_cache;
PrimitiveCache<Runner> backward_data_cache;
PrimitiveCache<Runner> backward_weights_cache;

/** Binds the filter argument: the caller's buffer directly, or a reorder into the primitive's layout. */
void bind_filter(Runner& r, const ConvShape& s, const dnnl::memory::desc& wanted, int arg, bool is_output) {
  r.user_w = user_memory(s.w_md());
  if (wanted == s.w_md()) {
    r.args[arg] = r.user_w;
    return;
  }
  dnnl::memory blocked(wanted, cpu_engine());
  r.args[arg] = blocked;
  r.reorder = true;
  const dnnl::memory& from = is_output ? blocked : r.user_w;
  const dnnl::memory& to = is_output ? r.user_w : blocked;
  r.w_reorder = dnnl::reorder(from, to);
  r.reorder_args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
}

void reorder_filter(Runner& r) { r.w_reorder.execute(cpu_stream(), r.reorder_args); }

// conv2d(x, filter, bias | null, y, relu, ...shape)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  return guarded(info, "conv2d", [&]() -> Napi::Value {
    Args a(info, "conv2d");
    ConvShape s = ConvShape::read(a, 5);
    s.describe();
    float* x = a.f32(0, s.x_size(), "x");
    float* w = a.f32(1, s.w_size(), "filter");
    float* bias = a.f32_or_null(2, s.O, "bias");
    float* y = a.f32(3, s.y_size(), "y");
    bool relu = a.flag(4);
    if (s.pointwise()) {
      matmul(x, w, y, bias, relu, 1, 1, s.pixels(), s.C, s.O, false, false);  // y[P,O] = x[P,C] · w[C,O]
      return info.Env().Undefined();
    }
    auto key = s.key();
    key.push_back(bias ? 1 : 0);
    key.push_back(relu ? 1 : 0);
    ConvForward& r = forward_cache.get(key_of("conv_fwd", key), [&] {
      auto pd = s.forward_pd(bias != nullptr, relu);
      auto e = std::make_unique<ConvForward>();
      e->prim = dnnl::convolution_forward(pd);
      e->x = user_memory(s.x_md());
      e->y = user_memory(s.y_md());
      e->args[DNNL_ARG_SRC] = e->x;
      e->args[DNNL_ARG_DST] = e->y;
      if (bias) {
        e->b = user_memory(s.b_md());
        e->args[DNNL_ARG_BIAS] = e->b;
      }
      bind_filter(*e, s, pd.weights_desc(), DNNL_ARG_WEIGHTS, false);
      count_primitive();
      return e;
    });
    r.x.set_data_handle(x);
    r.y.set_data_handle(y);
    r.user_w.set_data_handle(w);
    if (bias) r.b.set_data_handle(bias);
    if (r.reorder) reorder_filter(r);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

// conv2dBackpropInput(dy, filter, dx, ...shape)
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  return guarded(info, "conv2dBackpropInput", [&]() -> Napi::Value {
    Args a(info, "conv2dBackpropInput");
    ConvShape s = ConvShape::read(a, 3);
    s.describe();
    float* dy = a.f32(0, s.y_size(), "dy");
    float* w = a.f32(1, s.w_size(), "filter");
    float* dx = a.f32(2, s.x_size(), "dx");
    if (s.pointwise()) {
      matmul(dy, w, dx, nullptr, false, 1, 1, s.pixels(), s.O, s.C, false, true);  // dx[P,C] = dy[P,O] · wᵀ
      return info.Env().Undefined();
    }
    Runner& r = backward_data_cache.get(key_of("conv_bwd_data", s.key()), [&] {
      auto hint = s.forward_pd(false, false);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.x_md(), s.w_md(tag::any), s.y_md(),
                                             s.strides(), s.dilation(), s.pad_l(), s.pad_r());
      dnnl::convolution_backward_data::primitive_desc pd(d, cpu_engine(), hint);
      auto e = std::make_unique<Runner>();
      e->prim = dnnl::convolution_backward_data(pd);
      e->args[DNNL_ARG_DIFF_DST] = user_memory(s.y_md());
      e->args[DNNL_ARG_DIFF_SRC] = user_memory(s.x_md());
      bind_filter(*e, s, pd.weights_desc(), DNNL_ARG_WEIGHTS, false);
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_DIFF_DST].set_data_handle(dy);
    r.args[DNNL_ARG_DIFF_SRC].set_data_handle(dx);
    r.user_w.set_data_handle(w);
    if (r.reorder) reorder_filter(r);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

// conv2dBackpropFilter(x, dy, dw, dbias | null, ...shape)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  return guarded(info, "conv2dBackpropFilter", [&]() -> Napi::Value {
    Args a(info, "conv2dBackpropFilter");
    ConvShape s = ConvShape::read(a, 4);
    s.describe();
    float* x = a.f32(0, s.x_size(), "x");
    float* dy = a.f32(1, s.y_size(), "dy");
    float* dw = a.f32(2, s.w_size(), "dw");
    float* db = a.f32_or_null(3, s.O, "dbias");
    if (s.pointwise() && !db) {
      matmul(x, dy, dw, nullptr, false, 1, 1, s.C, s.pixels(), s.O, true, false);  // dw[C,O] = xᵀ · dy[P,O]
      return info.Env().Undefined();
    }
    auto key = s.key();
    key.push_back(db ? 1 : 0);
    Runner& r = backward_weights_cache.get(key_of("conv_bwd_weights", key), [&] {
      auto hint = s.forward_pd(db != nullptr, false);
      auto d = db ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.x_md(), s.w_md(tag::any),
                                                             s.b_md(), s.y_md(), s.strides(), s.dilation(), s.pad_l(), s.pad_r())
                  : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, s.x_md(), s.w_md(tag::any),
                                                             s.y_md(), s.strides(), s.dilation(), s.pad_l(), s.pad_r());
      dnnl::convolution_backward_weights::primitive_desc pd(d, cpu_engine(), hint);
      auto e = std::make_unique<Runner>();
      e->prim = dnnl::convolution_backward_weights(pd);
      e->args[DNNL_ARG_SRC] = user_memory(s.x_md());
      e->args[DNNL_ARG_DIFF_DST] = user_memory(s.y_md());
      if (db) e->args[DNNL_ARG_DIFF_BIAS] = user_memory(s.b_md());
      bind_filter(*e, s, pd.diff_weights_desc(), DNNL_ARG_DIFF_WEIGHTS, true);
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DIFF_DST].set_data_handle(dy);
    if (db) r.args[DNNL_ARG_DIFF_BIAS].set_data_handle(db);
    r.user_w.set_data_handle(dw);
    r.prim.execute(cpu_stream(), r.args);
    if (r.reorder) reorder_filter(r);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
}

}  // namespace lml
