// Sequential bandwidth kernels over a byte range (read, write, copy,
// non-temporal write, and the read:write mixes 3:1, 2:1 and triad) in scalar,
// AVX2 and AVX-512 variants, chosen at run time (per-function target
// attributes, no -march), with the bytes each moves.
//
// The read:write mixes, named as Intel MLC --peak_injection_bandwidth names
// its traffic ratios ("3:1 Reads-Writes": three cache lines read per line
// written) and as likwid-bench's stream kernels are built: R source streams
// read, one destination stream written, all advancing together, one element
// of each per step:
//   1:0    all reads                  the read kernel (kRead)
//   3:1    d[i] = x[i] + y[i] + z[i]  64-bit integer words (kMix31)
//   2:1    d[i] = x[i] + y[i]         64-bit integer words (kMix21)
//   1:1    d[i] = x[i]                the copy kernel (kCopy)
//   triad  a[i] = b[i] + s * c[i]     doubles, as STREAM / likwid-bench's triad (kTriad)
// Bytes counted = bytes read + bytes written by the instructions; the
// write-allocate read (RFO) an ordinary store causes for each destination
// line is not counted (it shows as a lower GB/s, as in STREAM and
// likwid-bench), so at DRAM 3:1 moves 3 lines read + 1 RFO + 1 written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace memprobe::core {

enum class BandwidthKernel { kRead, kWrite, kCopy, kNtWrite, kMix31, kMix21, kTriad };
enum class VectorWidth { kScalar, kAvx2, kAvx512 };

inline constexpr BandwidthKernel kAllBandwidthKernels[] = {BandwidthKernel::kRead, BandwidthKernel::kWrite,
                                                           BandwidthKernel::kCopy, BandwidthKernel::kNtWrite};

// A read:write mix (see the top of this file): its name in results ("3:1"),
// the kernel that runs it, and its streams.
struct BandwidthMix {
  std::string_view name;  // "1:0", "3:1", "2:1", "1:1", "triad"
  BandwidthKernel kernel;
  int read_streams;
  int write_streams;
};
inline constexpr BandwidthMix kAllBandwidthMixes[] = {{"1:0", BandwidthKernel::kRead, 1, 0},
                                                      {"3:1", BandwidthKernel::kMix31, 3, 1},
                                                      {"2:1", BandwidthKernel::kMix21, 2, 1},
                                                      {"1:1", BandwidthKernel::kCopy, 1, 1},
                                                      {"triad", BandwidthKernel::kTriad, 2, 1}};
// The mix `kernel` runs, if it is one (read and copy are: 1:0 and 1:1).
std::optional<BandwidthMix> mix_of(BandwidthKernel kernel);

// Every kernel's range must be a multiple of this and 64-byte aligned (one
// unrolled iteration of the widest variant: 4 x 64-byte vectors).
inline constexpr std::size_t kBandwidthGranuleBytes = 256;

// "read", "write", "copy", "nt-write", "mix_3_1", "mix_2_1", "triad": case
// names and results use these.
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
//   mix_3_1, mix_2_1, triad: the set is split into stream_bytes() streams
//             (4, 3, 3), so streams x stream_bytes: 3 (2) streams read + 1
//             written; at most working_set_bytes (streams are whole granules).
std::uint64_t bytes_moved(BandwidthKernel kernel, std::uint64_t working_set_bytes);
// How many equal streams `kernel` splits the working set into (1 for read,
// write and nt-write; copy 2; mix_3_1 4; mix_2_1 and triad 3), and the bytes
// of each: working_set_bytes / streams rounded down to kBandwidthGranuleBytes
// (the whole set for one stream).
std::size_t stream_count(BandwidthKernel kernel);
std::uint64_t stream_bytes(BandwidthKernel kernel, std::uint64_t working_set_bytes);

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
  // dst[i] = src[0][i] + src[1][i] (sum2) or + src[2][i] (sum3), 64-bit words
  // mod 2^64, `bytes` per stream: the 2:1 and 3:1 mixes.
  void (*sum2)(void* dst, const void* const* src, std::size_t bytes) = nullptr;
  void (*sum3)(void* dst, const void* const* src, std::size_t bytes) = nullptr;
  // a[i] = b[i] + scale * c[i] over doubles, `bytes` per stream.
  void (*triad)(double* a, const double* b, const double* c, std::size_t bytes, double scale) = nullptr;
};

// The kernels of `width`, or of the widest supported narrower width if this
// CPU cannot run it (check .width).
BandwidthKernels select_kernels(VectorWidth width);
// select_kernels(widest_vector()).
BandwidthKernels widest_kernels();

// Fills what `kernel` reads with values it is meant for: the triad's b and c
// streams with 1.0 and 2.0 (a leftover bit pattern read as a double can be a
// denormal, which costs the FPU a microcode assist per operation); nothing
// for the other kernels. Untimed, before the first pass.
void prepare_bandwidth_pass(BandwidthKernel kernel, void* data, std::size_t working_set_bytes);

// The triad's scale s (a[i] = b[i] + s * c[i]).
inline constexpr double kTriadScale = 3.0;

// Runs one pass of `kernel` over [data, data + working_set_bytes): copy the
// second half from the first; the mixes write their last stream from the
// ones before it (stream k at data + k * stream_bytes). Returns the read sum
// (0 for other kernels). working_set_bytes: a multiple of
// kBandwidthGranuleBytes (copy: of twice it; mixes: at least streams x it).
std::uint64_t run_bandwidth_pass(const BandwidthKernels& kernels, BandwidthKernel kernel, void* data,
                                 std::size_t working_set_bytes);

// The kernels, by stable symbol name (tests disassemble them). bytes: a
// multiple of kBandwidthGranuleBytes; pointers 64-byte aligned.
extern "C" {
std::uint64_t memprobe_bw_read_scalar(const void* data, std::size_t bytes);
void memprobe_bw_write_scalar(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_scalar(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_scalar(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_sum2_scalar(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_sum3_scalar(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_triad_scalar(double* a, const double* b, const double* c, std::size_t bytes, double scale);
#if defined(__x86_64__)
std::uint64_t memprobe_bw_read_avx2(const void* data, std::size_t bytes);
void memprobe_bw_write_avx2(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_avx2(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_avx2(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_sum2_avx2(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_sum3_avx2(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_triad_avx2(double* a, const double* b, const double* c, std::size_t bytes, double scale);
std::uint64_t memprobe_bw_read_avx512(const void* data, std::size_t bytes);
void memprobe_bw_write_avx512(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_copy_avx512(void* dst, const void* src, std::size_t bytes);
void memprobe_bw_nt_write_avx512(void* data, std::size_t bytes, std::uint64_t value);
void memprobe_bw_sum2_avx512(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_sum3_avx512(void* dst, const void* const* src, std::size_t bytes);
void memprobe_bw_triad_avx512(double* a, const double* b, const double* c, std::size_t bytes, double scale);
#endif
}

}  // namespace memprobe::core
