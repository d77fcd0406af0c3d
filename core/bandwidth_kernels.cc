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
  }
  return "read";
}

std::optional<BandwidthKernel> parse_kernel(std::string_view name) {
  for (const BandwidthKernel k : kAllBandwidthKernels)
    if (kernel_name(k) == name) return k;
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

std::uint64_t bytes_moved(BandwidthKernel kernel, std::uint64_t working_set_bytes) {
  switch (kernel) {
    case BandwidthKernel::kRead:
    case BandwidthKernel::kWrite:
    case BandwidthKernel::kNtWrite:
      return working_set_bytes;
    case BandwidthKernel::kCopy:
      // Half read from the source, half written to the destination.
      return working_set_bytes / 2 + working_set_bytes / 2;
  }
  return 0;
}

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

#if defined(__x86_64__)

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
    return {VectorWidth::kAvx512, &memprobe_bw_read_avx512, &memprobe_bw_write_avx512, &memprobe_bw_copy_avx512,
            &memprobe_bw_nt_write_avx512};
  if (width != VectorWidth::kScalar && vector_supported(VectorWidth::kAvx2))
    return {VectorWidth::kAvx2, &memprobe_bw_read_avx2, &memprobe_bw_write_avx2, &memprobe_bw_copy_avx2,
            &memprobe_bw_nt_write_avx2};
#else
  (void)width;
#endif
  return {VectorWidth::kScalar, &memprobe_bw_read_scalar, &memprobe_bw_write_scalar, &memprobe_bw_copy_scalar,
          &memprobe_bw_nt_write_scalar};
}

BandwidthKernels widest_kernels() { return select_kernels(widest_vector()); }

std::uint64_t run_bandwidth_pass(const BandwidthKernels& kernels, BandwidthKernel kernel, void* data,
                                 std::size_t working_set_bytes) {
  switch (kernel) {
    case BandwidthKernel::kRead: return kernels.read(data, working_set_bytes);
    case BandwidthKernel::kWrite: kernels.write(data, working_set_bytes, working_set_bytes); return 0;
    case BandwidthKernel::kNtWrite: kernels.nt_write(data, working_set_bytes, working_set_bytes); return 0;
    case BandwidthKernel::kCopy: {
      const std::size_t half = working_set_bytes / 2;
      auto* bytes = static_cast<std::byte*>(data);
      kernels.copy(bytes + half, bytes, half);
      return 0;
    }
  }
  return 0;
}

}  // namespace memprobe::core
