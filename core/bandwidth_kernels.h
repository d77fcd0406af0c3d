// Sequential bandwidth kernels over a byte range (read, write, copy,
// non-temporal write) in scalar, AVX2 and AVX-512 variants, chosen at run
// time (per-function target attributes, no -march), with the bytes each moves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace memprobe::core {

enum class BandwidthKernel { kRead, kWrite, kCopy, kNtWrite };
enum class VectorWidth { kScalar, kAvx2, kAvx512 };

inline constexpr BandwidthKernel kAllBandwidthKernels[] = {BandwidthKernel::kRead, BandwidthKernel::kWrite,
                                                           BandwidthKernel::kCopy, BandwidthKernel::kNtWrite};

// Every kernel's range must be a multiple of this and 64-byte aligned (one
// unrolled iteration of the widest variant: 4 x 64-byte vectors).
inline constexpr std::size_t kBandwidthGranuleBytes = 256;

// "read", "write", "copy", "nt-write": case names and results use these.
std::string_view kernel_name(BandwidthKernel kernel);
std::optional<BandwidthKernel> parse_kernel(std::string_view name);
// "scalar", "avx2", "avx512".
std::string_view vector_name(VectorWidth width);

// Bytes one pass of `kernel` over a working set of working_set_bytes moves
// between core and memory as counted by memprobe (GB/s = these / time):
//   read:     working_set_bytes (every byte loaded once)
//   write:    working_set_bytes (every byte stored once)
//   nt-write: working_set_bytes (every byte stored once, non-temporally)
//   copy:     working_set_bytes: the set is split into a source half and a
//             destination half, so ws/2 bytes read + ws/2 bytes written
//             (read + write; the write-allocate read of the destination
//             lines that ordinary stores cause is not counted).
std::uint64_t bytes_moved(BandwidthKernel kernel, std::uint64_t working_set_bytes);

// True if this CPU and OS run the variant (x86-64: __builtin_cpu_supports,
// which also checks the OS saves the registers; elsewhere only scalar).
bool vector_supported(VectorWidth width);
// The widest supported variant: kAvx512, kAvx2 or kScalar.
VectorWidth widest_vector();
// vector_name(widest_vector()).
std::string_view widest_vector_name();

struct BandwidthKernels {
  VectorWidth width = VectorWidth::kScalar;
  // Sum (mod 2^64) of the range's 64-bit words, returned so the loads are live.
  std::uint64_t (*read)(const void* data, std::size_t bytes) = nullptr;
  // Stores `value` to every 64-bit word.
  void (*write)(void* data, std::size_t bytes, std::uint64_t value) = nullptr;
  // Copies bytes from src to dst (non-overlapping).
  void (*copy)(void* dst, const void* src, std::size_t bytes) = nullptr;
  // As write, with non-temporal stores (then a store fence): x86-64 movnti /
  // vmovntdq + sfence, AArch64 stnp + dmb ishst.
  void (*nt_write)(void* data, std::size_t bytes, std::uint64_t value) = nullptr;
};

// The kernels of `width`, or of the widest supported narrower width if this
// CPU cannot run it (check .width).
BandwidthKernels select_kernels(VectorWidth width);
// select_kernels(widest_vector()).
BandwidthKernels widest_kernels();

// Runs one pass of `kernel` over [data, data + working_set_bytes) (copy: the
// second half from the first); returns the read sum (0 for other kernels).
// working_set_bytes: a multiple of kBandwidthGranuleBytes (copy: of twice it).
std::uint64_t run_bandwidth_pass(const BandwidthKernels& kernels, BandwidthKernel kernel, void* data,
                                 std::size_t working_set_bytes);

// The kernels, by stable symbol name (tests disassemble them). bytes: a
// multiple of kBandwidthGranuleBytes; pointers 64-byte aligned.
extern "C" {
std::uint64_t memprobe_bw_read_scalar(const void* data, std::size_t bytes);
void memprobe_bw_write_scalar(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_scalar(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_scalar(void* data, std::size_t bytes, std::uint64_t value);
#if defined(__x86_64__)
std::uint64_t memprobe_bw_read_avx2(const void* data, std::size_t bytes);
void memprobe_bw_write_avx2(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_avx2(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_avx2(void* data, std::size_t bytes, std::uint64_t value);
std::uint64_t memprobe_bw_read_avx512(const void* data, std::size_t bytes);
void memprobe_bw_write_avx512(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_avx512(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_avx512(void* data, std::size_t bytes, std::uint64_t value);
#endif
}

}  // namespace memprobe::core
