// The bandwidth kernels. Scalar variants use volatile 64-bit accesses so the
// compiler neither vectorizes them nor turns them into memset/memcpy calls;
// vector variants use intrinsics inside target("avx2") / target("avx512f")
// functions, so the file needs no -march and runs on any x86-64 (dispatch
// checks the CPU first). tests/core_bandwidth_kernels_test.cc checks the
// vector loads in their disassembly.
#include "core/bandwidth_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace memprobe::core {

std::string_view kernel_name(BandwidthKernel kernel) {
  switch (kernel) {
    case BandwidthKernel::kRead: return "read";
    case BandwidthKernel::kWrite: return "write";
    case BandwidthKernel::kCopy: return "copy";
    case BandwidthKernel::kNtWrite: return "nt-write";
    case BandwidthKernel::kMix31: return "mix_3_1";
    case BandwidthKernel::kMix21: return "mix_2_1";
    case BandwidthKernel::kTriad: return "triad";
  }
  return "read";
}

std::optional<BandwidthKernel> parse_kernel(std::string_view name) {
  for (const BandwidthKernel k : kAllBandwidthKernels)
    if (kernel_name(k) == name) return k;
  for (const BandwidthMix& m : kAllBandwidthMixes)
    if (kernel_name(m.kernel) == name) return m.kernel;
  return std::nullopt;
}

std::optional<BandwidthMix> mix_of(BandwidthKernel kernel) {
  for (const BandwidthMix& m : kAllBandwidthMixes)
    if (m.kernel == kernel) return m;
  return std::nullopt;
}

std::string_view vector_name(VectorWidth width) {
  switch (width) {
    case VectorWidth::kScalar: return "scalar";
    case VectorWidth::kAvx2: return "avx2";
    case VectorWidth::kAvx512: return "avx512";
  }
  return "scalar";
}

std::size_t stream_count(BandwidthKernel kernel) {
  switch (kernel) {
    case BandwidthKernel::kRead:
    case BandwidthKernel::kWrite:
    case BandwidthKernel::kNtWrite: return 1;
    case BandwidthKernel::kCopy: return 2;
    case BandwidthKernel::kMix31: return 4;
    case BandwidthKernel::kMix21:
    case BandwidthKernel::kTriad: return 3;
  }
  return 1;
}

std::uint64_t stream_bytes(BandwidthKernel kernel, std::uint64_t working_set_bytes) {
  const std::size_t streams = stream_count(kernel);
  if (streams == 1) return working_set_bytes;
  return working_set_bytes / streams / kBandwidthGranuleBytes * kBandwidthGranuleBytes;
}

std::uint64_t bytes_moved(BandwidthKernel kernel, std::uint64_t working_set_bytes) {
  // Each stream is read or written once: copy reads one half and writes the
  // other; a mix reads all streams but the last and writes the last.
  return stream_count(kernel) * stream_bytes(kernel, working_set_bytes);
}

namespace {

// The mixes' loops, written once for every width: Word is a 64-bit integer
// (scalar) or a GCC vector of them (32 bytes for AVX2, 64 for AVX-512), Real
// the same for doubles. Always inlined into the target("avx2") /
// target("avx512f") wrappers below, whose target the inlined body takes; every
// access goes through a volatile pointer, so each element is loaded and
// stored exactly once, in order, and the compiler cannot fuse the streams
// into memcpy-like calls or drop a pass whose result is overwritten by the
// next one. Four elements of each stream per iteration (a granule holds 4
// AVX-512 vectors), unrolled.
//
// What objdump -d --no-show-raw-insn showed (GCC 12, RelWithDebInfo):
// sum3_avx512: per iteration 12 vmovdqa64 (mem),%zmm loads, 8 vpaddq and 4
// vmovdqa64 %zmm,(mem) stores; sum2_avx512: 8 loads, 4 vpaddq, 4 stores;
// triad_avx512: 8 vmovapd loads, 4 vfmadd (FMA, implied by AVX-512F) and 4
// vmovapd stores; the avx2 variants the same on %ymm (the triad as vmulpd +
// vaddpd: AVX2 alone has no FMA); scalar: 64-bit mov loads, add, mov stores
// (movsd / mulsd / addsd for the triad); AArch64 (aarch64-linux-gnu-g++ 12)
// scalar: ldr/ldur x loads, add, stur stores; the triad ldr d, fmadd, stur d.
// Nothing hoisted out of the loop, nothing eliminated;
// tests/core_bandwidth_kernels_test.cc checks the counts.
template <class Word, std::size_t Reads>
[[gnu::always_inline]] inline void sum_streams(void* dst, const void* const* src, std::size_t bytes) {
  volatile Word* d = static_cast<volatile Word*>(dst);
  const volatile Word* s[Reads];
  for (std::size_t k = 0; k < Reads; ++k) s[k] = static_cast<const volatile Word*>(src[k]);
  const std::size_t n = bytes / sizeof(Word);
  for (std::size_t i = 0; i < n; i += 4) {
#pragma GCC unroll 4
    for (std::size_t j = 0; j < 4; ++j) {
      Word sum = s[0][i + j];
#pragma GCC unroll 3
      for (std::size_t k = 1; k < Reads; ++k) sum += s[k][i + j];
      d[i + j] = sum;
    }
  }
}

template <class Real>
[[gnu::always_inline]] inline void triad_streams(double* a, const double* b, const double* c, std::size_t bytes,
                                                 double scale) {
  volatile Real* pa = reinterpret_cast<volatile Real*>(a);
  const volatile Real* pb = reinterpret_cast<const volatile Real*>(b);
  const volatile Real* pc = reinterpret_cast<const volatile Real*>(c);
  const Real s = Real{} + scale;  // a vector: every lane scale
  const std::size_t n = bytes / sizeof(Real);
  for (std::size_t i = 0; i < n; i += 4) {
#pragma GCC unroll 4
    for (std::size_t j = 0; j < 4; ++j) pa[i + j] = pb[i + j] + s * pc[i + j];
  }
}

#if defined(__x86_64__)
using U64x4 = std::uint64_t __attribute__((vector_size(32)));
using U64x8 = std::uint64_t __attribute__((vector_size(64)));
using F64x4 = double __attribute__((vector_size(32)));
using F64x8 = double __attribute__((vector_size(64)));
#endif

}  // namespace

extern "C" {

[[gnu::noinline]] std::uint64_t memprobe_bw_read_scalar(const void* data, std::size_t bytes) {
  const volatile std::uint64_t* p = static_cast<const volatile std::uint64_t*>(data);
  const std::size_t words = bytes / 8;
  // Four accumulators: the adds do not serialize the loads.
  std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (std::size_t i = 0; i < words; i += 8) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
    s0 += p[i + 4];
    s1 += p[i + 5];
    s2 += p[i + 6];
    s3 += p[i + 7];
  }
  return s0 + s1 + s2 + s3;
}

[[gnu::noinline]] void memprobe_bw_write_scalar(void* data, std::size_t bytes, std::uint64_t value) {
  volatile std::uint64_t* p = static_cast<volatile std::uint64_t*>(data);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; i += 8) {
    p[i] = value;
    p[i + 1] = value;
    p[i + 2] = value;
    p[i + 3] = value;
    p[i + 4] = value;
    p[i + 5] = value;
    p[i + 6] = value;
    p[i + 7] = value;
  }
}

[[gnu::noinline]] void memprobe_bw_copy_scalar(void* dst, const void* src, std::size_t bytes) {
  volatile std::uint64_t* d = static_cast<volatile std::uint64_t*>(dst);
  const volatile std::uint64_t* s = static_cast<const volatile std::uint64_t*>(src);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; i += 4) {
    const std::uint64_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
    d[i] = a;
    d[i + 1] = b;
    d[i + 2] = c;
    d[i + 3] = e;
  }
}

[[gnu::noinline]] void memprobe_bw_nt_write_scalar(void* data, std::size_t bytes, std::uint64_t value) {
#if defined(__x86_64__)
  // movnti: SSE2, part of x86-64's baseline.
  long long* p = static_cast<long long*>(data);
  const auto v = static_cast<long long>(value);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; i += 4) {
    _mm_stream_si64(p + i, v);
    _mm_stream_si64(p + i + 1, v);
    _mm_stream_si64(p + i + 2, v);
    _mm_stream_si64(p + i + 3, v);
  }
  _mm_sfence();
#elif defined(__aarch64__)
  // stnp: a store pair with a non-temporal hint (Arm ARM, STNP), two per 32
  // bytes; then a store barrier, as sfence on x86-64, so later stores are
  // ordered after the streamed ones.
  auto* p = static_cast<std::uint64_t*>(data);
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; i += 4) {
    asm volatile(
        "stnp %1, %1, [%0]\n\t"
        "stnp %1, %1, [%0, #16]"
        :
        : "r"(p + i), "r"(value)
        : "memory");
  }
  asm volatile("dmb ishst" : : : "memory");
#else
#error "memprobe supports x86-64 and AArch64 only: no non-temporal store for this architecture"
#endif
}

// The mix wrappers: one line each, the loop is the template's.
#define MEMPROBE_MIX_KERNELS(suffix, attributes, Word, Real)                                                    \
  [[gnu::noinline, attributes]] void memprobe_bw_sum2_##suffix(void* dst, const void* const* src,             \
                                                               std::size_t bytes) {                          \
    sum_streams<Word, 2>(dst, src, bytes);                                                                    \
  }                                                                                                           \
  [[gnu::noinline, attributes]] void memprobe_bw_sum3_##suffix(void* dst, const void* const* src,             \
                                                               std::size_t bytes) {                          \
    sum_streams<Word, 3>(dst, src, bytes);                                                                    \
  }                                                                                                           \
  [[gnu::noinline, attributes]] void memprobe_bw_triad_##suffix(double* a, const double* b, const double* c, \
                                                                std::size_t bytes, double scale) {           \
    triad_streams<Real>(a, b, c, bytes, scale);                                                               \
  }

MEMPROBE_MIX_KERNELS(scalar, gnu::used, std::uint64_t, double)

#if defined(__x86_64__)

MEMPROBE_MIX_KERNELS(avx2, gnu::target("avx2"), U64x4, F64x4)
MEMPROBE_MIX_KERNELS(avx512, gnu::target("avx512f"), U64x8, F64x8)

[[gnu::noinline, gnu::target("avx2")]] std::uint64_t memprobe_bw_read_avx2(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const __m256i*>(data);
  const std::size_t vectors = bytes / 32;
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (std::size_t i = 0; i < vectors; i += 4) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(p + i));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(p + i + 1));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(p + i + 2));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(p + i + 3));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

[[gnu::noinline, gnu::target("avx2")]] void memprobe_bw_write_avx2(void* data, std::size_t bytes,
                                                                   std::uint64_t value) {
  auto* p = static_cast<__m256i*>(data);
  const __m256i v = _mm256_set1_epi64x(static_cast<long long>(value));
  const std::size_t vectors = bytes / 32;
  for (std::size_t i = 0; i < vectors; i += 4) {
    _mm256_store_si256(p + i, v);
    _mm256_store_si256(p + i + 1, v);
    _mm256_store_si256(p + i + 2, v);
    _mm256_store_si256(p + i + 3, v);
  }
}

[[gnu::noinline, gnu::target("avx2")]] void memprobe_bw_copy_avx2(void* dst, const void* src, std::size_t bytes) {
  auto* d = static_cast<__m256i*>(dst);
  const auto* s = static_cast<const __m256i*>(src);
  const std::size_t vectors = bytes / 32;
  for (std::size_t i = 0; i < vectors; i += 4) {
    const __m256i a = _mm256_load_si256(s + i), b = _mm256_load_si256(s + i + 1);
    const __m256i c = _mm256_load_si256(s + i + 2), e = _mm256_load_si256(s + i + 3);
    _mm256_store_si256(d + i, a);
    _mm256_store_si256(d + i + 1, b);
    _mm256_store_si256(d + i + 2, c);
    _mm256_store_si256(d + i + 3, e);
  }
}

[[gnu::noinline, gnu::target("avx2")]] void memprobe_bw_nt_write_avx2(void* data, std::size_t bytes,
                                                                      std::uint64_t value) {
  auto* p = static_cast<__m256i*>(data);
  const __m256i v = _mm256_set1_epi64x(static_cast<long long>(value));
  const std::size_t vectors = bytes / 32;
  for (std::size_t i = 0; i < vectors; i += 4) {
    _mm256_stream_si256(p + i, v);
    _mm256_stream_si256(p + i + 1, v);
    _mm256_stream_si256(p + i + 2, v);
    _mm256_stream_si256(p + i + 3, v);
  }
  _mm_sfence();
}

[[gnu::noinline, gnu::target("avx512f")]] std::uint64_t memprobe_bw_read_avx512(const void* data,
                                                                                 std::size_t bytes) {
  const auto* p = static_cast<const __m512i*>(data);
  const std::size_t vectors = bytes / 64;
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (std::size_t i = 0; i < vectors; i += 4) {
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(p + i));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(p + i + 1));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(p + i + 2));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(p + i + 3));
  }
  const __m512i s = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
  // Not _mm512_reduce_add_epi64: GCC 12's uses _mm256_undefined_si256 and warns.
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, s);
  std::uint64_t sum = 0;
  for (const std::uint64_t lane : lanes) sum += lane;
  return sum;
}

[[gnu::noinline, gnu::target("avx512f")]] void memprobe_bw_write_avx512(void* data, std::size_t bytes,
                                                                        std::uint64_t value) {
  auto* p = static_cast<__m512i*>(data);
  const __m512i v = _mm512_set1_epi64(static_cast<long long>(value));
  const std::size_t vectors = bytes / 64;
  for (std::size_t i = 0; i < vectors; i += 4) {
    _mm512_store_si512(p + i, v);
    _mm512_store_si512(p + i + 1, v);
    _mm512_store_si512(p + i + 2, v);
    _mm512_store_si512(p + i + 3, v);
  }
}

[[gnu::noinline, gnu::target("avx512f")]] void memprobe_bw_copy_avx512(void* dst, const void* src,
                                                                       std::size_t bytes) {
  auto* d = static_cast<__m512i*>(dst);
  const auto* s = static_cast<const __m512i*>(src);
  const std::size_t vectors = bytes / 64;
  for (std::size_t i = 0; i < vectors; i += 4) {
    const __m512i a = _mm512_load_si512(s + i), b = _mm512_load_si512(s + i + 1);
    const __m512i c = _mm512_load_si512(s + i + 2), e = _mm512_load_si512(s + i + 3);
    _mm512_store_si512(d + i, a);
    _mm512_store_si512(d + i + 1, b);
    _mm512_store_si512(d + i + 2, c);
    _mm512_store_si512(d + i + 3, e);
  }
}

[[gnu::noinline, gnu::target("avx512f")]] void memprobe_bw_nt_write_avx512(void* data, std::size_t bytes,
                                                                           std::uint64_t value) {
  auto* p = static_cast<__m512i*>(data);
  const __m512i v = _mm512_set1_epi64(static_cast<long long>(value));
  const std::size_t vectors = bytes / 64;
  for (std::size_t i = 0; i < vectors; i += 4) {
    _mm512_stream_si512(p + i, v);
    _mm512_stream_si512(p + i + 1, v);
    _mm512_stream_si512(p + i + 2, v);
    _mm512_stream_si512(p + i + 3, v);
  }
  _mm_sfence();
}

#endif  // __x86_64__

}  // extern "C"

bool vector_supported(VectorWidth width) {
  switch (width) {
    case VectorWidth::kScalar: return true;
#if defined(__x86_64__)
    case VectorWidth::kAvx2: return __builtin_cpu_supports("avx2") != 0;
    case VectorWidth::kAvx512: return __builtin_cpu_supports("avx512f") != 0;
#else
    case VectorWidth::kAvx2:
    case VectorWidth::kAvx512: return false;
#endif
  }
  return false;
}

VectorWidth widest_vector() {
  if (vector_supported(VectorWidth::kAvx512)) return VectorWidth::kAvx512;
  if (vector_supported(VectorWidth::kAvx2)) return VectorWidth::kAvx2;
  return VectorWidth::kScalar;
}

std::string_view widest_vector_name() { return vector_name(widest_vector()); }

BandwidthKernels select_kernels(VectorWidth width) {
#if defined(__x86_64__)
  if (width == VectorWidth::kAvx512 && vector_supported(VectorWidth::kAvx512))
    return {VectorWidth::kAvx512,         &memprobe_bw_read_avx512,  &memprobe_bw_write_avx512,
            &memprobe_bw_copy_avx512,     &memprobe_bw_nt_write_avx512, &memprobe_bw_sum2_avx512,
            &memprobe_bw_sum3_avx512,     &memprobe_bw_triad_avx512};
  if (width != VectorWidth::kScalar && vector_supported(VectorWidth::kAvx2))
    return {VectorWidth::kAvx2,         &memprobe_bw_read_avx2,  &memprobe_bw_write_avx2,
            &memprobe_bw_copy_avx2,     &memprobe_bw_nt_write_avx2, &memprobe_bw_sum2_avx2,
            &memprobe_bw_sum3_avx2,     &memprobe_bw_triad_avx2};
#else
  (void)width;
#endif
  return {VectorWidth::kScalar,         &memprobe_bw_read_scalar,  &memprobe_bw_write_scalar,
          &memprobe_bw_copy_scalar,     &memprobe_bw_nt_write_scalar, &memprobe_bw_sum2_scalar,
          &memprobe_bw_sum3_scalar,     &memprobe_bw_triad_scalar};
}

BandwidthKernels widest_kernels() { return select_kernels(widest_vector()); }

void prepare_bandwidth_pass(BandwidthKernel kernel, void* data, std::size_t working_set_bytes) {
  if (kernel != BandwidthKernel::kTriad) return;
  const std::size_t words = stream_bytes(kernel, working_set_bytes) / sizeof(double);
  auto* a = static_cast<double*>(data);
  for (std::size_t i = 0; i < words; ++i) {
    a[i] = 0.0;
    a[words + i] = 1.0;      // b
    a[2 * words + i] = 2.0;  // c
  }
}

std::uint64_t run_bandwidth_pass(const BandwidthKernels& kernels, BandwidthKernel kernel, void* data,
                                 std::size_t working_set_bytes) {
  auto* bytes = static_cast<std::byte*>(data);
  const std::size_t stream = stream_bytes(kernel, working_set_bytes);
  switch (kernel) {
    case BandwidthKernel::kRead: return kernels.read(data, working_set_bytes);
    case BandwidthKernel::kWrite: kernels.write(data, working_set_bytes, working_set_bytes); return 0;
    case BandwidthKernel::kNtWrite: kernels.nt_write(data, working_set_bytes, working_set_bytes); return 0;
    case BandwidthKernel::kCopy: kernels.copy(bytes + stream, bytes, stream); return 0;
    case BandwidthKernel::kMix31: {
      const void* src[3] = {bytes, bytes + stream, bytes + 2 * stream};
      kernels.sum3(bytes + 3 * stream, src, stream);
      return 0;
    }
    case BandwidthKernel::kMix21: {
      const void* src[2] = {bytes, bytes + stream};
      kernels.sum2(bytes + 2 * stream, src, stream);
      return 0;
    }
    case BandwidthKernel::kTriad: {
      // a = stream 0, b = stream 1, c = stream 2 (prepare_bandwidth_pass's layout).
      auto* a = reinterpret_cast<double*>(bytes);
      kernels.triad(a, reinterpret_cast<const double*>(bytes + stream),
                    reinterpret_cast<const double*>(bytes + 2 * stream), stream, kTriadScale);
      return 0;
    }
  }
  return 0;
}

}  // namespace memprobe::core
