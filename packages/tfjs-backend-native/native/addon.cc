// Module entry: engine and stream, argument readers, thread count, version, and the kernel groups.
#include <omp.h>

#include <time.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define LML_HAVE_MXCSR 1
#endif

#include <climits>
#include <mutex>
#include <cstdio>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common.h"

namespace lml {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

static size_t primitive_count = 0;
size_t cached_primitives() { return primitive_count; }
void count_primitive() { primitive_count++; }

void Args::fail(const std::string& what) const {
  throw Napi::TypeError::New(info_.Env(), std::string("lml native ") + fn_ + ": " + what);
}

float* Args::f32(size_t i, int64_t len, const char* name) const {
  if (info_.Length() <= i || !info_[i].IsTypedArray() ||
      info_[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail(std::string(name) + " must be a Float32Array");
  }
  auto a = info_[i].As<Napi::Float32Array>();
  if (len >= 0 && static_cast<int64_t>(a.ElementLength()) != len) {
    fail(std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(len));
  }
  return a.Data();
}

float* Args::f32_or_null(size_t i, int64_t len, const char* name) const {
  if (info_.Length() <= i || info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
  return f32(i, len, name);
}

int64_t Args::i64(size_t i, const char* name) const {
  if (info_.Length() <= i || !info_[i].IsNumber()) fail(std::string(name) + " must be a number");
  return info_[i].As<Napi::Number>().Int64Value();
}

double Args::num(size_t i, const char* name) const {
  if (info_.Length() <= i || !info_[i].IsNumber()) fail(std::string(name) + " must be a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

std::vector<int64_t> Args::ints(size_t i, const char* name) const {
  if (info_.Length() <= i || !info_[i].IsArray()) fail(std::string(name) + " must be an array of integers");
  auto a = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a[k];
    if (!v.IsNumber()) fail(std::string(name) + "[" + std::to_string(k) + "] must be a number");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

std::vector<float*> Args::f32s(size_t i, const char* name, std::vector<size_t>* sizes) const {
  if (info_.Length() <= i || !info_[i].IsArray()) fail(std::string(name) + " must be an array of Float32Arrays");
  auto a = info_[i].As<Napi::Array>();
  std::vector<float*> out(a.Length());
  if (sizes) sizes->resize(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a[k];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      fail(std::string(name) + "[" + std::to_string(k) + "] must be a Float32Array");
    }
    auto f = v.As<Napi::Float32Array>();
    out[k] = f.Data();
    if (sizes) (*sizes)[k] = f.ElementLength();
  }
  return out;
}

std::string key_of(const char* kind, std::initializer_list<int64_t> values) {
  std::string key(kind);
  for (int64_t v : values) {
    key += ',';
    key += std::to_string(v);
  }
  return key;
}

std::string key_of(const char* kind, const std::vector<int64_t>& values) {
  std::string key(kind);
  for (int64_t v : values) {
    key += ',';
    key += std::to_string(v);
  }
  return key;
}

// Optional per-function accounting of the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID: not
// disturbed by other processes on a shared machine), for the benchmarks' per-kernel tables.
static bool profiling = false;
static std::string detail;
bool profiling_on() { return profiling; }
void profile_detail(std::string d) { detail = std::move(d); }
static std::unordered_map<std::string, std::pair<double, double>> profile;  // fn → (calls, ms)

static double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/**
 * Denormal floats flushed to zero inside every addon call, as TensorFlow does around its CPU kernels
 * (ScopedFlushDenormal): arithmetic on denormals takes a microcode assist (~100× slower); measured: the
 * inference pass's heatmap bias add took 9 ms instead of 0.3 on tiny activations of an untrained
 * model. The JS thread's own mode is restored on return, so JS arithmetic stays IEEE.
 */
class ScopedFlushDenormal {
 public:
#ifdef LML_HAVE_MXCSR
  ScopedFlushDenormal() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~ScopedFlushDenormal() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

/** The same mode, once and for good, on every OpenMP worker (they run nothing but these kernels). */
static void flush_denormals_on_workers() {
#ifdef LML_HAVE_MXCSR
#pragma omp parallel
  _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

// The primitive caches and their memory objects are process-wide and re-pointed on every call, so calls
// from several JS threads (worker_threads each loading the addon) take turns.
static std::mutex call_mutex;

Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, const std::function<Napi::Value()>& body) {
  std::lock_guard<std::mutex> lock(call_mutex);
  ScopedFlushDenormal flush;
  try {
    if (!profiling) return body();
    const double t0 = thread_cpu_ms();
    detail.clear();
    Napi::Value out = body();
    auto& p = profile[detail.empty() ? std::string(fn) : std::string(fn) + " " + detail];
    p.first += 1;
    p.second += thread_cpu_ms() - t0;
    return out;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("lml native ") + fn + ": oneDNN: " + e.what() +
                                           " (status " + std::to_string(static_cast<int>(e.status)) + ")");
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), std::string("lml native ") + fn + ": out of memory");
  }
}

/** setThreads(n): the OpenMP team size oneDNN and the element-wise loops use (one by default). */
static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setThreads");
  int64_t n = a.i64(0, "threads");
  if (n < 1 || n > 1024) a.fail("threads must be between 1 and 1024, got " + std::to_string(n));
  omp_set_num_threads(static_cast<int>(n));
  flush_denormals_on_workers();
  return info.Env().Undefined();
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

/** info(): library version, the CPU instruction set oneDNN dispatches to, and the cache size. */
static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* v = dnnl_version();
  Napi::Object o = Napi::Object::New(env);
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  const char* isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    default: break;
  }
  o.Set("isa", isa);
  o.Set("threads", omp_get_max_threads());
  o.Set("primitives", static_cast<double>(cached_primitives()));
  return o;
}

/**
 * keepFreedMemory(): glibc's malloc keeps freed large blocks in the process instead of unmapping them
 * (mmap threshold 64 MiB, trim threshold 2 GiB), for the whole process, JS ArrayBuffers included. On
 * this project's VMs a page fault is expensive: a fresh 8 MB Float32Array (one heatmap batch) costs
 * 5–18 ms of CPU to fault in, a recycled one 0.8 ms (measured). The price is that the process keeps
 * its peak heap. Returns false where the C library is not glibc (nothing changed).
 */
static Napi::Value KeepFreedMemory(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  const bool ok = mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return Napi::Boolean::New(info.Env(), ok);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

/** threadCpuMs(): CPU time of the calling thread (the JS main thread), for the benchmarks. */
static Napi::Value ThreadCpuMs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), thread_cpu_ms()); }

/** profile(on): start (true, clearing the counts) or stop accounting; returns {fn: {calls, ms}} so far. */
static Napi::Value Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [fn, p] : profile) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("calls", p.first);
    e.Set("ms", p.second);
    o.Set(fn, e);
  }
  if (info.Length() > 0) {
    profiling = info[0].ToBoolean().Value();
    if (profiling) profile.clear();
  }
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // One thread unless the caller asks for more: a worker per core is the deployment (issue 13).
  omp_set_num_threads(1);
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("profile", Napi::Function::New(env, Profile));
  exports.Set("threadCpuMs", Napi::Function::New(env, ThreadCpuMs));
  exports.Set("keepFreedMemory", Napi::Function::New(env, KeepFreedMemory));
  register_conv(env, exports);
  register_batchnorm(env, exports);
  register_pooling(env, exports);
  register_matmul(env, exports);
  register_elementwise(env, exports);
  register_layout(env, exports);
  register_adamw(env, exports);
  return exports;
}

}  // namespace lml

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return lml::Init(env, exports); }
NODE_API_MODULE(lml_native, InitModule)
