// Shared pieces of the addon: the oneDNN engine and stream, argument readers that check every buffer's
// length against the shape it is used with (a wrong length is a JS TypeError naming the argument, never
// a write past the end), and the per-shape primitive cache.
#pragma once

#include <napi.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lml {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

/** Reads JS arguments by position; every error names the function and the argument. */
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}
  /** A Float32Array of exactly `len` elements (any length when len < 0). */
  float* f32(size_t i, int64_t len, const char* name) const;
  /** Like f32, or nullptr for null/undefined. */
  float* f32_or_null(size_t i, int64_t len, const char* name) const;
  int64_t i64(size_t i, const char* name) const;
  double num(size_t i, const char* name) const;
  bool flag(size_t i) const { return info_.Length() > i && info_[i].ToBoolean().Value(); }
  /** An array of integers (a shape or a list of sizes). */
  std::vector<int64_t> ints(size_t i, const char* name) const;
  /** An array of Float32Arrays (lengths checked by the caller through `sizes`). */
  std::vector<float*> f32s(size_t i, const char* name, std::vector<size_t>* sizes = nullptr) const;
  Napi::Env env() const { return info_.Env(); }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

/** Below this many elements a loop stays on the calling thread. */
constexpr int64_t kParallelGrain = 1 << 15;

/**
 * body(begin, end) over [0, n), split across the OpenMP team when it has more than one thread and the
 * loop touches at least kParallelGrain elements (`work`); otherwise called inline, because an
 * `omp parallel if (false)` region still costs ~2 µs in libgomp, more than a small kernel's work.
 */
template <typename F>
void parallel_for(int64_t n, int64_t work, F body) {
  const int threads = omp_get_max_threads();
  if (threads <= 1 || work < kParallelGrain || n < 2) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
    body(n * t / T, n * (t + 1) / T);
  }
}

/** Cache key of a primitive: its kind and every number that shapes it. */
std::string key_of(const char* kind, std::initializer_list<int64_t> values);
std::string key_of(const char* kind, const std::vector<int64_t>& values);

/**
 * Primitive creation costs 0.1–2 ms (it JIT-compiles the kernel), execution of the model's layers
 * 10–1500 µs: every primitive is created once per shape and kept for the life of the process.
 */
template <typename Entry>
class PrimitiveCache {
 public:
  Entry& get(const std::string& key, const std::function<std::unique_ptr<Entry>()>& make) {
    auto it = map_.find(key);
    if (it != map_.end()) return *it->second;
    return *map_.emplace(key, make()).first->second;
  }
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, std::unique_ptr<Entry>> map_;
};

/** A memory object over a caller's buffer: created once (no handle), pointed at the buffer per call. */
inline dnnl::memory user_memory(const dnnl::memory::desc& md) {
  return dnnl::memory(md, cpu_engine(), DNNL_MEMORY_NONE);
}

/** Runs `body`, turning oneDNN and std exceptions into JS errors that name the function. */
Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, const std::function<Napi::Value()>& body);

/** While profiling, names the shape of the current call in the per-function table. */
bool profiling_on();
void profile_detail(std::string d);

/** Number of primitives cached, for tests and diagnostics. */
size_t cached_primitives();
void count_primitive();

/** C[b] = op(A[b]) · op(B[b]) (+ bias over N, ReLU) on a cached oneDNN matmul; transposes by strides. */
void matmul(const float* A, const float* B, float* C, const float* bias, bool relu, int64_t batchA, int64_t batchB, int64_t M,
            int64_t K, int64_t N, bool transposeA, bool transposeB);

void register_conv(Napi::Env env, Napi::Object exports);
void register_batchnorm(Napi::Env env, Napi::Object exports);
void register_pooling(Napi::Env env, Napi::Object exports);
void register_matmul(Napi::Env env, Napi::Object exports);
void register_elementwise(Napi::Env env, Napi::Object exports);
void register_layout(Napi::Env env, Napi::Object exports);
void register_adamw(Napi::Env env, Napi::Object exports);

}  // namespace lml
