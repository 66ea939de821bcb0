// Batched matrix product C[b] = op(A[b]) · op(B[b]) (+ bias, ReLU) on oneDNN's matmul primitive.
// Transposed operands are described by strides (no copy). A batch of 1 on either side broadcasts.
//
// matmul(a, b, c, bias | null, relu, batchA, batchB, M, K, N, transposeA, transposeB)
#include "common.h"

namespace lml {
namespace {

struct Runner {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
};

PrimitiveCache<Runner> cache;

}  // namespace

void matmul(const float* A, const float* B, float* C, const float* bias, bool relu, int64_t ba, int64_t bb, int64_t M, int64_t K,
            int64_t N, bool ta, bool tb) {
  const int64_t batch = std::max(ba, bb);
  Runner& r = cache.get(key_of("matmul", {ba, bb, M, K, N, ta, tb, bias != nullptr, relu}), [&] {
    dnnl::memory::desc a_md({ba, M, K}, dt::f32, ta ? dims{M * K, 1, M} : dims{M * K, K, 1});
    dnnl::memory::desc b_md({bb, K, N}, dt::f32, tb ? dims{K * N, 1, K} : dims{K * N, N, 1});
    dnnl::memory::desc c_md({batch, M, N}, dt::f32, dims{M * N, N, 1});
    dnnl::memory::desc bias_md({1, 1, N}, dt::f32, dims{N, N, 1});
    auto d = bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
    dnnl::primitive_attr attr;
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
    auto e = std::make_unique<Runner>();
    e->prim = dnnl::matmul(pd);
    e->args[DNNL_ARG_SRC] = user_memory(a_md);
    e->args[DNNL_ARG_WEIGHTS] = user_memory(b_md);
    e->args[DNNL_ARG_DST] = user_memory(c_md);
    if (bias) e->args[DNNL_ARG_BIAS] = user_memory(bias_md);
    count_primitive();
    return e;
  });
  r.args[DNNL_ARG_SRC].set_data_handle(const_cast<float*>(A));
  r.args[DNNL_ARG_WEIGHTS].set_data_handle(const_cast<float*>(B));
  r.args[DNNL_ARG_DST].set_data_handle(C);
  if (bias) r.args[DNNL_ARG_BIAS].set_data_handle(const_cast<float*>(bias));
  r.prim.execute(cpu_stream(), r.args);
}

namespace {

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  return guarded(info, "matmul", [&]() -> Napi::Value {
    Args a(info, "matmul");
    const int64_t ba = a.i64(5, "batchA"), bb = a.i64(6, "batchB");
    const int64_t M = a.i64(7, "M"), K = a.i64(8, "K"), N = a.i64(9, "N");
    const bool ta = a.flag(10), tb = a.flag(11), relu = a.flag(4);
    if (ba < 1 || bb < 1 || M < 1 || K < 1 || N < 1) a.fail("batch and matrix sizes must be ≥ 1");
    if (ba != bb && ba != 1 && bb != 1) a.fail("batch sizes must be equal or one of them 1");
    const int64_t batch = std::max(ba, bb);
    float* A = a.f32(0, ba * M * K, "a");
    float* B = a.f32(1, bb * K * N, "b");
    float* C = a.f32(2, batch * M * N, "c");
    float* bias = a.f32_or_null(3, N, "bias");
    matmul(A, B, C, bias, relu, ba, bb, M, K, N, ta, tb);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, MatMul));
}

}  // namespace lml
