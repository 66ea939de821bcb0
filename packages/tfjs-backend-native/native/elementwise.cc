// Element-wise and reduction kernels.
//  - unary: oneDNN eltwise primitives (JIT-vectorised exp/log/sqrt/…), one per (algorithm, size).
//  - binary with NumPy broadcasting, step, addN, and reductions: plain loops (memory-bound; the compiler
//    vectorises the contiguous cases). Hand-written because oneDNN's binary primitive broadcasts only
//    its second operand (tfjs broadcasts either), and its reduction accumulates in float32 where the
//    cpu backend, the reference, sums in doubles (a 2M-element sum drifts past 1e-4 relative).
// Loops split across the OpenMP team when there is more than one thread and enough work.
#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "common.h"

namespace lml {
namespace {

// ---- unary ------------------------------------------------------------------------------------------

enum Unary { RELU, NEG, SQUARE, SQRT, RSQRT, EXP, LOG, ABS, SIGMOID, TANH, RECIPROCAL, ELU, RELU6, LEAKY_RELU, LINEAR };

struct Eltwise {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};
PrimitiveCache<Eltwise> eltwise_cache;

bool eltwise_of(int64_t op, float alpha, float beta, dnnl::algorithm* alg, float* a, float* b) {
  using A = dnnl::algorithm;
  *a = 0.f;
  *b = 0.f;
  switch (op) {
    case RELU: *alg = A::eltwise_relu; return true;
    case NEG: *alg = A::eltwise_linear; *a = -1.f; return true;
    case SQUARE: *alg = A::eltwise_square; return true;
    case SQRT: *alg = A::eltwise_sqrt; return true;
    case RSQRT: *alg = A::eltwise_pow; *a = 1.f; *b = -0.5f; return true;
    case EXP: *alg = A::eltwise_exp; return true;
    case LOG: *alg = A::eltwise_log; return true;
    case ABS: *alg = A::eltwise_abs; return true;
    case SIGMOID: *alg = A::eltwise_logistic; return true;
    case TANH: *alg = A::eltwise_tanh; return true;
    case RECIPROCAL: *alg = A::eltwise_pow; *a = 1.f; *b = -1.f; return true;
    case ELU: *alg = A::eltwise_elu; *a = 1.f; return true;
    case RELU6: *alg = A::eltwise_clip_v2; *a = 0.f; *b = 6.f; return true;
    case LEAKY_RELU: *alg = A::eltwise_relu; *a = alpha; return true;
    case LINEAR: *alg = A::eltwise_linear; *a = alpha; *b = beta; return true;
    default: return false;
  }
}

int64_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// unary(op, x, y, alpha, beta)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  return guarded(info, "unary", [&]() -> Napi::Value {
    Args a(info, "unary");
    const int64_t op = a.i64(0, "op");
    float* x = a.f32(1, -1, "x");
    const int64_t n = info[1].As<Napi::Float32Array>().ElementLength();
    float* y = a.f32(2, n, "y");
    const float alpha = static_cast<float>(a.num(3, "alpha")), beta = static_cast<float>(a.num(4, "beta"));
    dnnl::algorithm alg;
    float pa, pb;
    if (!eltwise_of(op, alpha, beta, &alg, &pa, &pb)) a.fail("unknown op " + std::to_string(op));
    if (n == 0) return info.Env().Undefined();
    Eltwise& r = eltwise_cache.get(key_of("eltwise", {op, n, float_bits(pa), float_bits(pb)}), [&] {
      dnnl::memory::desc md({n}, dt::f32, tag::a);
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, pa, pb);
      dnnl::eltwise_forward::primitive_desc pd(d, cpu_engine());
      auto e = std::make_unique<Eltwise>();
      e->prim = dnnl::eltwise_forward(pd);
      e->args[DNNL_ARG_SRC] = user_memory(md);
      e->args[DNNL_ARG_DST] = user_memory(md);
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DST].set_data_handle(y);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

// step(x, y, alpha): y = x > 0 ? 1 : alpha (NaN stays NaN), TensorFlow's Step.
Napi::Value Step(const Napi::CallbackInfo& info) {
  return guarded(info, "step", [&]() -> Napi::Value {
    Args a(info, "step");
    float* x = a.f32(0, -1, "x");
    const int64_t n = info[0].As<Napi::Float32Array>().ElementLength();
    float* y = a.f32(1, n, "y");
    const float alpha = static_cast<float>(a.num(2, "alpha"));
    parallel_for(n, n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const float v = x[i];  // loaded before the selects, so that they vectorise (see batchnorm.cc)
        const float s = v > 0.f ? 1.f : alpha;
        y[i] = v != v ? v : s;
      }
    });
    return info.Env().Undefined();
  });
}

// ---- binary with broadcasting -----------------------------------------------------------------------

enum Binary { ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE };

/**
 * Broadcast strides of a and b over `out`, with adjacent dimensions merged where both operands step
 * the same way (so [B,H,W,C] + [C] becomes [B·H·W, C] with strides a = (C, 1), b = (0, 1)).
 */
struct Plan {
  std::vector<int64_t> shape, sa, sb;
};

Plan plan_of(const Args& args, const std::vector<int64_t>& out, const std::vector<int64_t>& as, const std::vector<int64_t>& bs) {
  const size_t r = out.size();
  if (as.size() != r || bs.size() != r) args.fail("shapes must have the output's rank (pad with leading 1s)");
  std::vector<int64_t> sa(r), sb(r);
  int64_t ka = 1, kb = 1;
  for (size_t i = r; i-- > 0;) {
    if (as[i] != out[i] && as[i] != 1) args.fail("a does not broadcast to the output shape");
    if (bs[i] != out[i] && bs[i] != 1) args.fail("b does not broadcast to the output shape");
    sa[i] = as[i] == 1 ? 0 : ka;
    sb[i] = bs[i] == 1 ? 0 : kb;
    ka *= as[i];
    kb *= bs[i];
  }
  Plan p;
  for (size_t i = 0; i < r; i++) {
    if (out[i] == 1) continue;
    if (!p.shape.empty()) {
      // Merge with the previous dimension when it is contiguous with this one for both operands.
      int64_t& n = p.shape.back();
      if (p.sa.back() == sa[i] * out[i] && p.sb.back() == sb[i] * out[i]) {
        n *= out[i];
        p.sa.back() = sa[i];
        p.sb.back() = sb[i];
        continue;
      }
    }
    p.shape.push_back(out[i]);
    p.sa.push_back(sa[i]);
    p.sb.push_back(sb[i]);
  }
  if (p.shape.empty()) {
    p.shape = {1};
    p.sa = {0};
    p.sb = {0};
  }
  return p;
}

template <typename F>
inline void inner_loop(const float* a, int64_t ia, const float* b, int64_t ib, float* o, int64_t n, F f) {
  if (ia == 1 && ib == 1) {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  } else if (ia == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], bv);
  } else if (ib == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(av, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; i++) o[i] = v;
  }
}

template <typename F>
void broadcast_apply(const Plan& p, const float* a, const float* b, float* o, F f) {
  const size_t r = p.shape.size();
  const int64_t n = p.shape[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; i++) rows *= p.shape[i];
  parallel_for(rows, rows * n, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      int64_t oa = 0, ob = 0, rem = row;
      for (size_t i = r - 1; i-- > 0;) {
        const int64_t k = rem % p.shape[i];
        rem /= p.shape[i];
        oa += k * p.sa[i];
        ob += k * p.sb[i];
      }
      inner_loop(a + oa, p.sa[r - 1], b + ob, p.sb[r - 1], o + row * n, n, f);
    }
  });
}

// binary(op, a, b, out, outShape, aShape, bShape)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  return guarded(info, "binary", [&]() -> Napi::Value {
    Args args(info, "binary");
    const int64_t op = args.i64(0, "op");
    auto out_shape = args.ints(4, "outShape");
    auto a_shape = args.ints(5, "aShape");
    auto b_shape = args.ints(6, "bShape");
    auto count = [](const std::vector<int64_t>& s) {
      int64_t n = 1;
      for (int64_t d : s) n *= d;
      return n;
    };
    const float* a = args.f32(1, count(a_shape), "a");
    const float* b = args.f32(2, count(b_shape), "b");
    float* o = args.f32(3, count(out_shape), "out");
    if (count(out_shape) == 0) return info.Env().Undefined();
    Plan p = plan_of(args, out_shape, a_shape, b_shape);
    if (profiling_on()) {
      auto str = [](const std::vector<int64_t>& v) {
        std::string t;
        for (int64_t d : v) t += (t.empty() ? "" : "×") + std::to_string(d);
        return "[" + t + "]";
      };
      profile_detail(std::to_string(op) + " " + str(a_shape) + str(b_shape));
    }
    switch (op) {
      case ADD: broadcast_apply(p, a, b, o, [](float x, float y) { return x + y; }); break;
      case SUB: broadcast_apply(p, a, b, o, [](float x, float y) { return x - y; }); break;
      case MUL: broadcast_apply(p, a, b, o, [](float x, float y) { return x * y; }); break;
      case DIV: broadcast_apply(p, a, b, o, [](float x, float y) { return x / y; }); break;
      // TensorFlow propagates NaN through maximum/minimum.
      case MAXIMUM: broadcast_apply(p, a, b, o, [](float x, float y) { return x != x || y != y ? x + y : (x > y ? x : y); }); break;
      case MINIMUM: broadcast_apply(p, a, b, o, [](float x, float y) { return x != x || y != y ? x + y : (x < y ? x : y); }); break;
      case SQUARED_DIFFERENCE: broadcast_apply(p, a, b, o, [](float x, float y) { return (x - y) * (x - y); }); break;
      default: args.fail("unknown op " + std::to_string(op));
    }
    return info.Env().Undefined();
  });
}

// addN(inputs, out): out = Σ inputs, summed in order (as TensorFlow.js's cpu backend does).
Napi::Value AddN(const Napi::CallbackInfo& info) {
  return guarded(info, "addN", [&]() -> Napi::Value {
    Args args(info, "addN");
    std::vector<size_t> sizes;
    auto xs = args.f32s(0, "inputs", &sizes);
    float* o = args.f32(1, -1, "out");
    const int64_t n = info[1].As<Napi::Float32Array>().ElementLength();
    if (xs.empty()) args.fail("inputs must not be empty");
    for (size_t k = 0; k < xs.size(); k++) {
      if (static_cast<int64_t>(sizes[k]) != n) args.fail("inputs[" + std::to_string(k) + "] has a different size from out");
    }
    const size_t m = xs.size();
    parallel_for(n, n * static_cast<int64_t>(m), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        float s = xs[0][i];
        for (size_t k = 1; k < m; k++) s += xs[k][i];
        o[i] = s;
      }
    });
    return info.Env().Undefined();
  });
}

// ---- reductions over the middle axis of [outer, R, inner] -------------------------------------------

enum Reduce { SUM, MEAN, MAX, MIN, PROD };

// reduce(op, x, out, outer, R, inner)
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  return guarded(info, "reduce", [&]() -> Napi::Value {
    Args args(info, "reduce");
    const int64_t op = args.i64(0, "op");
    const int64_t outer = args.i64(3, "outer"), R = args.i64(4, "R"), inner = args.i64(5, "inner");
    if (outer < 0 || R < 1 || inner < 0) args.fail("outer and inner must be ≥ 0 and R ≥ 1");
    const float* x = args.f32(1, outer * R * inner, "x");
    float* o = args.f32(2, outer * inner, "out");
    if (op < SUM || op > PROD) args.fail("unknown op " + std::to_string(op));
    const double scale = op == MEAN ? 1.0 / static_cast<double>(R) : 1.0;
    if (op == SUM || op == MEAN) {
      // Double accumulators: TensorFlow.js's cpu backend sums in JS numbers (doubles).
      if (inner == 1) {
        parallel_for(outer, outer * R, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; i++) {
            const float* p = x + i * R;
            double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t j = 0;
            for (; j + 8 <= R; j += 8) {
              for (int k = 0; k < 8; k++) acc[k] += p[j + k];
            }
            double s = 0;
            for (; j < R; j++) s += p[j];
            for (int k = 0; k < 8; k++) s += acc[k];
            o[i] = static_cast<float>(s * scale);
          }
        });
      } else {
        // Split the columns when there are few rows (the usual per-channel sum over N·H·W), else the rows.
        const bool by_columns = outer < omp_get_max_threads();
        for (int64_t i = 0; i < (by_columns ? outer : 1); i++) {
          parallel_for(by_columns ? inner : outer, outer * R * inner, [&](int64_t begin, int64_t end) {
            const int64_t i0 = by_columns ? i : begin, i1 = by_columns ? i + 1 : end;
            const int64_t k0 = by_columns ? begin : 0, k1 = by_columns ? end : inner;
            std::vector<double> acc(k1 - k0);
            for (int64_t ii = i0; ii < i1; ii++) {
              std::fill(acc.begin(), acc.end(), 0.0);
              const float* p = x + ii * R * inner;
              for (int64_t j = 0; j < R; j++) {
                const float* row = p + j * inner;
                for (int64_t k = k0; k < k1; k++) acc[k - k0] += row[k];
              }
              for (int64_t k = k0; k < k1; k++) o[ii * inner + k] = static_cast<float>(acc[k - k0] * scale);
            }
          });
        }
      }
      return info.Env().Undefined();
    }
    parallel_for(outer, outer * R * inner, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const float* p = x + i * R * inner;
        float* q = o + i * inner;
        for (int64_t k = 0; k < inner; k++) q[k] = p[k];
        for (int64_t j = 1; j < R; j++) {
          const float* row = p + j * inner;
          for (int64_t k = 0; k < inner; k++) {
            const float v = row[k], w = q[k];
            if (op == MAX) q[k] = (v != v || v > w) ? v : w;
            else if (op == MIN) q[k] = (v != v || v < w) ? v : w;
            else q[k] = w * v;
          }
        }
      }
    });
    return info.Env().Undefined();
  });
}

// ---- softmax over the last axis ---------------------------------------------------------------------

struct Softmax {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};
PrimitiveCache<Softmax> softmax_cache;

// softmax(x, y, rows, n, log)
Napi::Value SoftmaxOp(const Napi::CallbackInfo& info) {
  return guarded(info, "softmax", [&]() -> Napi::Value {
    Args args(info, "softmax");
    const int64_t rows = args.i64(2, "rows"), n = args.i64(3, "n");
    const bool log = args.flag(4);
    if (rows < 1 || n < 1) args.fail("rows and n must be ≥ 1");
    float* x = args.f32(0, rows * n, "x");
    float* y = args.f32(1, rows * n, "y");
    Softmax& r = softmax_cache.get(key_of("softmax", {rows, n, log}), [&] {
      dnnl::memory::desc md({rows, n}, dt::f32, tag::ab);
      auto e = std::make_unique<Softmax>();
      if (log) {
        dnnl::logsoftmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
        e->prim = dnnl::logsoftmax_forward(dnnl::logsoftmax_forward::primitive_desc(d, cpu_engine()));
      } else {
        dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
        e->prim = dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, cpu_engine()));
      }
      e->args[DNNL_ARG_SRC] = user_memory(md);
      e->args[DNNL_ARG_DST] = user_memory(md);
      count_primitive();
      return e;
    });
    r.args[DNNL_ARG_SRC].set_data_handle(x);
    r.args[DNNL_ARG_DST].set_data_handle(y);
    r.prim.execute(cpu_stream(), r.args);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, UnaryOp));
  exports.Set("step", Napi::Function::New(env, Step));
  exports.Set("binary", Napi::Function::New(env, BinaryOp));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("reduce", Napi::Function::New(env, ReduceOp));
  exports.Set("softmax", Napi::Function::New(env, SoftmaxOp));
}

}  // namespace lml
