#include "core/bandwidth_kernels.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/chain.h"
#include "core/mlp_chase.h"
#include "core/units.h"
#include "tests/aligned_bytes.h"
#include "tests/disassembly.h"

namespace memprobe::core {
namespace {

using Aligned = memprobe::testing::AlignedBytes;

std::vector<VectorWidth> available_widths() {
  std::vector<VectorWidth> out;
  for (const VectorWidth w : {VectorWidth::kScalar, VectorWidth::kAvx2, VectorWidth::kAvx512})
    if (vector_supported(w)) out.push_back(w);
  return out;
}

TEST(BandwidthBytesTest, BytesPerPassPerKernel) {
  EXPECT_EQ(bytes_moved(BandwidthKernel::kRead, 64 * kKiB), 64 * kKiB);
  EXPECT_EQ(bytes_moved(BandwidthKernel::kWrite, 64 * kKiB), 64 * kKiB);
  EXPECT_EQ(bytes_moved(BandwidthKernel::kNtWrite, 64 * kKiB), 64 * kKiB);
  // copy: ws/2 read from the source half + ws/2 written to the destination half.
  EXPECT_EQ(bytes_moved(BandwidthKernel::kCopy, 64 * kKiB), 32 * kKiB + 32 * kKiB);
  EXPECT_EQ(bytes_moved(BandwidthKernel::kCopy, 512), 512U);
  EXPECT_EQ(bytes_moved(BandwidthKernel::kRead, 0), 0U);
}

// The mixes: bytes read + bytes written, each stream once per pass; streams
// are whole granules, so a set that does not split evenly loses its tail.
TEST(BandwidthBytesTest, MixesCountEveryStreamOnce) {
  EXPECT_EQ(stream_count(BandwidthKernel::kMix31), 4U);
  EXPECT_EQ(stream_count(BandwidthKernel::kMix21), 3U);
  EXPECT_EQ(stream_count(BandwidthKernel::kTriad), 3U);
  EXPECT_EQ(stream_count(BandwidthKernel::kCopy), 2U);
  EXPECT_EQ(stream_count(BandwidthKernel::kRead), 1U);
  // 3:1 over 64 KiB: three 16 KiB streams read + one written.
  EXPECT_EQ(stream_bytes(BandwidthKernel::kMix31, 64 * kKiB), 16 * kKiB);
  EXPECT_EQ(bytes_moved(BandwidthKernel::kMix31, 64 * kKiB), 3 * 16 * kKiB + 16 * kKiB);
  // 2:1 and triad over 64 KiB: 65536 / 3 = 21845.3 -> 85 granules of 256 B.
  for (const BandwidthKernel k : {BandwidthKernel::kMix21, BandwidthKernel::kTriad}) {
    EXPECT_EQ(stream_bytes(k, 64 * kKiB), 85U * kBandwidthGranuleBytes);
    EXPECT_EQ(bytes_moved(k, 64 * kKiB), 2 * 21760U + 21760U);
  }
  // Too small for one granule per stream: nothing moved, nothing claimed.
  EXPECT_EQ(bytes_moved(BandwidthKernel::kMix31, 512), 0U);
  // The mixes and the kernels that run them.
  ASSERT_EQ(std::size(kAllBandwidthMixes), 5U);
  EXPECT_EQ(mix_of(BandwidthKernel::kRead)->name, "1:0");
  EXPECT_EQ(mix_of(BandwidthKernel::kCopy)->name, "1:1");
  EXPECT_EQ(mix_of(BandwidthKernel::kMix31)->name, "3:1");
  EXPECT_EQ(mix_of(BandwidthKernel::kMix21)->name, "2:1");
  EXPECT_EQ(mix_of(BandwidthKernel::kTriad)->name, "triad");
  EXPECT_FALSE(mix_of(BandwidthKernel::kWrite));
  EXPECT_FALSE(mix_of(BandwidthKernel::kNtWrite));
  for (const BandwidthMix& m : kAllBandwidthMixes)
    EXPECT_EQ(static_cast<std::size_t>(m.read_streams + m.write_streams),
              m.write_streams == 0 ? 1U : stream_count(m.kernel))
        << m.name;
}

TEST(BandwidthKernelsTest, NamesRoundTrip) {
  for (const BandwidthKernel k : kAllBandwidthKernels) EXPECT_EQ(parse_kernel(kernel_name(k)), k);
  for (const BandwidthMix& m : kAllBandwidthMixes) EXPECT_EQ(parse_kernel(kernel_name(m.kernel)), m.kernel);
  EXPECT_EQ(kernel_name(BandwidthKernel::kMix31), "mix_3_1");
  EXPECT_FALSE(parse_kernel("3:1"));
  EXPECT_FALSE(parse_kernel("stream"));
  EXPECT_EQ(vector_name(widest_vector()), widest_vector_name());
  EXPECT_TRUE(vector_supported(VectorWidth::kScalar));
}

TEST(BandwidthKernelsTest, SelectFallsBackToWhatTheCpuRuns) {
  for (const VectorWidth w : {VectorWidth::kScalar, VectorWidth::kAvx2, VectorWidth::kAvx512}) {
    const BandwidthKernels k = select_kernels(w);
    EXPECT_TRUE(vector_supported(k.width));
    EXPECT_LE(static_cast<int>(k.width), static_cast<int>(w));
  }
  EXPECT_EQ(widest_kernels().width, widest_vector());
}

TEST(BandwidthKernelsTest, ReadSumsEveryWord) {
  constexpr std::size_t kBytes = 64 * kBandwidthGranuleBytes;
  Aligned buffer(kBytes);
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < kBytes / 8; ++i) {
    buffer.words()[i] = i * 0x9E3779B97F4A7C15ULL + 1;
    expected += buffer.words()[i];
  }
  for (const VectorWidth w : available_widths()) {
    const BandwidthKernels k = select_kernels(w);
    EXPECT_EQ(k.read(buffer.data(), kBytes), expected) << vector_name(w);
    std::uint64_t first = 0;
    for (std::size_t i = 0; i < kBandwidthGranuleBytes / 8; ++i) first += buffer.words()[i];
    EXPECT_EQ(k.read(buffer.data(), kBandwidthGranuleBytes), first) << vector_name(w);
  }
}

TEST(BandwidthKernelsTest, WritesStoreExactlyTheRange) {
  constexpr std::size_t kBytes = 32 * kBandwidthGranuleBytes;
  constexpr std::size_t kGuardWords = 8;
  Aligned buffer(kBytes + 2 * 64);
  for (const VectorWidth w : available_widths()) {
    const BandwidthKernels k = select_kernels(w);
    for (const bool nt : {false, true}) {
      std::memset(buffer.data(), 0xAB, kBytes + 2 * 64);
      std::uint64_t* range = buffer.words() + kGuardWords;  // 64 bytes in: still aligned
      (nt ? k.nt_write : k.write)(range, kBytes, 0x0123456789ABCDEFULL);
      for (std::size_t i = 0; i < kBytes / 8; ++i) ASSERT_EQ(range[i], 0x0123456789ABCDEFULL) << i;
      for (std::size_t i = 0; i < kGuardWords; ++i) {
        EXPECT_EQ(buffer.words()[i], 0xABABABABABABABABULL) << "before the range";
        EXPECT_EQ(range[kBytes / 8 + i], 0xABABABABABABABABULL) << "after the range";
      }
      SCOPED_TRACE(vector_name(w));
    }
  }
}

TEST(BandwidthKernelsTest, CopyCopiesExactly) {
  constexpr std::size_t kBytes = 16 * kBandwidthGranuleBytes;
  Aligned src(kBytes), dst(kBytes + 64);
  for (std::size_t i = 0; i < kBytes / 8; ++i) src.words()[i] = i ^ 0x5555AAAA5555AAAAULL;
  for (const VectorWidth w : available_widths()) {
    std::memset(dst.data(), 0, kBytes + 64);
    select_kernels(w).copy(dst.data(), src.data(), kBytes);
    EXPECT_EQ(std::memcmp(dst.data(), src.data(), kBytes), 0) << vector_name(w);
    for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(dst.words()[kBytes / 8 + i], 0U) << "wrote past the end";
  }
}

TEST(BandwidthKernelsTest, PassRunsEachKernelOverTheWorkingSet) {
  constexpr std::size_t kBytes = 8 * kBandwidthGranuleBytes;
  Aligned buffer(kBytes);
  const BandwidthKernels k = widest_kernels();
  for (std::size_t i = 0; i < kBytes / 8; ++i) buffer.words()[i] = i;
  // copy: second half from the first.
  run_bandwidth_pass(k, BandwidthKernel::kCopy, buffer.data(), kBytes);
  EXPECT_EQ(std::memcmp(buffer.data(), buffer.data() + kBytes / 2, kBytes / 2), 0);
  run_bandwidth_pass(k, BandwidthKernel::kWrite, buffer.data(), kBytes);
  EXPECT_EQ(run_bandwidth_pass(k, BandwidthKernel::kRead, buffer.data(), kBytes), kBytes / 8 * kBytes);
}

TEST(BandwidthKernelsTest, SumsAddTheirSourcesWordByWord) {
  constexpr std::size_t kBytes = 8 * kBandwidthGranuleBytes;
  constexpr std::size_t kWords = kBytes / 8;
  Aligned x(kBytes), y(kBytes), z(kBytes), d(kBytes + 2 * 64);
  for (std::size_t i = 0; i < kWords; ++i) {
    x.words()[i] = i * 0x9E3779B97F4A7C15ULL;
    y.words()[i] = ~i;
    z.words()[i] = i << 40 | 7;
  }
  const void* src[3] = {x.data(), y.data(), z.data()};
  for (const VectorWidth w : available_widths()) {
    SCOPED_TRACE(vector_name(w));
    const BandwidthKernels k = select_kernels(w);
    for (const std::size_t reads : {2, 3}) {
      std::memset(d.data(), 0xAB, kBytes + 2 * 64);
      std::uint64_t* dst = d.words() + 8;  // 64 bytes in: guards on both sides
      (reads == 2 ? k.sum2 : k.sum3)(dst, src, kBytes);
      for (std::size_t i = 0; i < kWords; ++i)
        ASSERT_EQ(dst[i], x.words()[i] + y.words()[i] + (reads == 3 ? z.words()[i] : 0)) << reads << " " << i;
      for (std::size_t i = 0; i < 8; ++i) {
        EXPECT_EQ(d.words()[i], 0xABABABABABABABABULL) << "before the range";
        EXPECT_EQ(dst[kWords + i], 0xABABABABABABABABULL) << "after the range";
      }
    }
  }
}

TEST(BandwidthKernelsTest, TriadComputesBPlusScaleTimesC) {
  constexpr std::size_t kBytes = 8 * kBandwidthGranuleBytes;
  constexpr std::size_t kDoubles = kBytes / 8;
  Aligned a(kBytes + 2 * 64), b(kBytes), c(kBytes);
  auto* pb = reinterpret_cast<double*>(b.data());
  auto* pc = reinterpret_cast<double*>(c.data());
  for (std::size_t i = 0; i < kDoubles; ++i) {
    pb[i] = static_cast<double>(i);       // small integers: b + s*c is exact,
    pc[i] = static_cast<double>(i % 7);   // fused (FMA) or not
  }
  for (const VectorWidth w : available_widths()) {
    SCOPED_TRACE(vector_name(w));
    std::memset(a.data(), 0xAB, kBytes + 2 * 64);
    double* pa = reinterpret_cast<double*>(a.data()) + 8;
    select_kernels(w).triad(pa, pb, pc, kBytes, 3.0);
    for (std::size_t i = 0; i < kDoubles; ++i) ASSERT_EQ(pa[i], pb[i] + 3.0 * pc[i]) << i;
    for (std::size_t i = 0; i < 8; ++i) {
      EXPECT_EQ(a.words()[i], 0xABABABABABABABABULL) << "before the range";
      EXPECT_EQ(a.words()[8 + kDoubles + i], 0xABABABABABABABABULL) << "after the range";
    }
  }
}

// A pass of each mix writes its last stream from the ones before it, and
// nothing else: sources unchanged, the tail the streams leave untouched.
TEST(BandwidthKernelsTest, MixPassesWriteOnlyTheirLastStream) {
  constexpr std::size_t kBytes = 12 * kBandwidthGranuleBytes + 512;  // 3 and 4 streams leave a tail
  Aligned buffer(kBytes);
  for (const VectorWidth w : available_widths()) {
    SCOPED_TRACE(vector_name(w));
    const BandwidthKernels k = select_kernels(w);
    for (const BandwidthKernel kernel : {BandwidthKernel::kMix31, BandwidthKernel::kMix21}) {
      for (std::size_t i = 0; i < kBytes / 8; ++i) buffer.words()[i] = i + 1;
      const std::size_t streams = stream_count(kernel);
      const std::size_t words = stream_bytes(kernel, kBytes) / 8;
      ASSERT_GT(words, 0U);
      EXPECT_EQ(run_bandwidth_pass(k, kernel, buffer.data(), kBytes), 0U);
      const std::size_t out = (streams - 1) * words;
      for (std::size_t i = 0; i < words; ++i) {
        std::uint64_t sum = 0;
        for (std::size_t s = 0; s + 1 < streams; ++s) sum += s * words + i + 1;
        ASSERT_EQ(buffer.words()[out + i], sum) << kernel_name(kernel) << " " << i;
      }
      for (std::size_t i = 0; i < out; ++i) ASSERT_EQ(buffer.words()[i], i + 1) << "a source changed";
      for (std::size_t i = streams * words; i < kBytes / 8; ++i) ASSERT_EQ(buffer.words()[i], i + 1) << "the tail";
    }
    // The triad: prepare lays out a = 0, b = 1, c = 2; a pass makes a = 1 + 3 * 2.
    prepare_bandwidth_pass(BandwidthKernel::kTriad, buffer.data(), kBytes);
    const std::size_t doubles = stream_bytes(BandwidthKernel::kTriad, kBytes) / 8;
    const auto* d = reinterpret_cast<const double*>(buffer.data());
    EXPECT_EQ(d[0], 0.0);
    EXPECT_EQ(d[doubles], 1.0);
    EXPECT_EQ(d[2 * doubles], 2.0);
    run_bandwidth_pass(k, BandwidthKernel::kTriad, buffer.data(), kBytes);
    for (std::size_t i = 0; i < doubles; ++i) {
      ASSERT_EQ(d[i], 1.0 + kTriadScale * 2.0) << i;
      ASSERT_EQ(d[doubles + i], 1.0);
      ASSERT_EQ(d[2 * doubles + i], 2.0);
    }
  }
  // Prepare leaves the other kernels' memory alone.
  std::memset(buffer.data(), 0x5A, kBytes);
  for (const BandwidthKernel kernel : kAllBandwidthKernels) prepare_bandwidth_pass(kernel, buffer.data(), kBytes);
  prepare_bandwidth_pass(BandwidthKernel::kMix31, buffer.data(), kBytes);
  for (std::size_t i = 0; i < kBytes / 8; ++i) ASSERT_EQ(buffer.words()[i], 0x5A5A5A5A5A5A5A5AULL);
}

TEST(MlpChaseTest, EachChainAdvancesExactlySteps) {
  constexpr std::size_t kNodes = 97;  // not a multiple of anything the loop could round to
  for (std::size_t k = 1; k <= kMaxChaseChains; ++k) {
    Aligned arena(kNodes * 64 * k);
    std::vector<void*> heads(k), start(k);
    std::vector<std::vector<const std::byte*>> orders(k);
    for (std::size_t c = 0; c < k; ++c) {
      const Chain chain =
          build_random_cycle(arena.bytes().subspan(c * kNodes * 64, kNodes * 64), 64, 100 + c);
      heads[c] = start[c] = chain.head;
      orders[c] = walk_chain(chain.head, kNodes);
    }
    ASSERT_TRUE(memprobe_chase_k(heads.data(), k, kNodes));
    for (std::size_t c = 0; c < k; ++c) EXPECT_EQ(heads[c], start[c]) << "k=" << k << " chain " << c;
    ASSERT_TRUE(memprobe_chase_k(heads.data(), k, 5));
    for (std::size_t c = 0; c < k; ++c) EXPECT_EQ(heads[c], orders[c][5]) << "k=" << k << " chain " << c;
    ASSERT_TRUE(memprobe_chase_k(heads.data(), k, 0));
    for (std::size_t c = 0; c < k; ++c) EXPECT_EQ(heads[c], orders[c][5]);
  }
  void* dummy = nullptr;
  EXPECT_FALSE(memprobe_chase_k(&dummy, 0, 1));
  EXPECT_FALSE(memprobe_chase_k(&dummy, kMaxChaseChains + 1, 1));
}

// ---- Disassembly: the vector loads and the chase loads are what we claim ----

using memprobe::testing::disassemble;
using Listing = memprobe::testing::Disassembly;

std::size_t count_matching(const Listing& l, const std::regex& pattern) {
  std::size_t n = 0;
  for (const auto& ins : l.instructions)
    if (std::regex_search(ins.mnemonic + " " + ins.operands, pattern)) ++n;
  return n;
}

// The registers of the self-feeding 64-bit loads (one chase step each):
// x86-64 `mov (%rX),%rX`, AArch64 `ldr xN, [xN]`.
std::vector<std::string> self_load_registers(const Listing& l) {
#if defined(__x86_64__)
  static const std::regex kLoad(R"(^mov \((%r[a-z0-9]+)\),(%r[a-z0-9]+)$)");
#elif defined(__aarch64__)
  static const std::regex kLoad(R"(^ldr (x[0-9]+), \[(x[0-9]+)\]$)");
#endif
  std::vector<std::string> registers;
  for (const auto& ins : l.instructions) {
    const std::string line = ins.mnemonic + " " + ins.operands;
    std::smatch m;
    if (std::regex_match(line, m, kLoad) && m[1].str() == m[2].str()) registers.push_back(m[1].str());
  }
  return registers;
}

TEST(MlpChaseDisassemblyTest, EightChainsAreEightIndependentLoads) {
  // memprobe::core::mlp_chase_loop<8ul>(void**, unsigned long)
  const Listing l = disassemble("_ZN8memprobe4core14mlp_chase_loopILm8EEEvPPvm");
  if (l.skip_reason) GTEST_SKIP() << *l.skip_reason;
  ASSERT_FALSE(l.instructions.empty()) << l.raw;
  std::vector<std::string> registers = self_load_registers(l);
  ASSERT_EQ(registers.size(), 8U) << "want 8 self-feeding loads, one per chain:\n" << l.raw;
  std::sort(registers.begin(), registers.end());
  EXPECT_EQ(std::unique(registers.begin(), registers.end()), registers.end()) << "chains share a register";
}

// The scalar kernels every CPU runs (the only ones on AArch64): eight 64-bit
// loads per read iteration, and non-temporal stores plus a store barrier.
TEST(BandwidthKernelsDisassemblyTest, ScalarKernelsLoadWordsAndStreamStores) {
  const Listing read = disassemble("memprobe_bw_read_scalar");
  if (read.skip_reason) GTEST_SKIP() << *read.skip_reason;
  ASSERT_FALSE(read.instructions.empty()) << read.raw;
#if defined(__x86_64__)
  const std::regex word_load(R"(^(mov|add) +(-?0x[0-9a-f]+)?\(%r[a-z0-9]+(,%r[a-z0-9]+,[0-9])?\),%r[a-z0-9]+$)");
  const std::regex stream(R"(^movnti )");
  const std::regex barrier(R"(^sfence)");
#elif defined(__aarch64__)
  const std::regex word_load(R"(^ldu?r x[0-9]+, \[x[0-9]+[^\]]*\]$)");  // ldur: negative offsets
  const std::regex stream(R"(^stnp x[0-9]+, x[0-9]+, \[x[0-9]+(, #[0-9]+)?\]$)");
  const std::regex barrier(R"(^dmb ishst$)");
#endif
  EXPECT_GE(count_matching(read, word_load), 8U) << "read: fewer than 8 word loads\n" << read.raw;
  const Listing nt = disassemble("memprobe_bw_nt_write_scalar");
  EXPECT_GE(count_matching(nt, stream), 2U) << "nt-write: no non-temporal stores\n" << nt.raw;
  EXPECT_GE(count_matching(nt, barrier), 1U) << "nt-write: no store barrier\n" << nt.raw;
  // The mixes: per iteration 4 elements of each stream, loaded and stored.
#if defined(__x86_64__)
  const std::regex word_store(R"(^mov +%r[a-z0-9]+,(-?0x[0-9a-f]+)?\(%r[a-z0-9]+(,%r[a-z0-9]+,[0-9])?\)$)");
  const std::regex double_load(R"(^v?movsd +(-?0x[0-9a-f]+)?\(%r[a-z0-9]+(,%r[a-z0-9]+,[0-9])?\),%xmm[0-9]+$)");
  const std::regex double_store(R"(^v?movsd +%xmm[0-9]+,(-?0x[0-9a-f]+)?\(%r)");
#elif defined(__aarch64__)
  const std::regex word_store(R"(^stu?r x[0-9]+, \[x[0-9]+[^\]]*\]$)");
  const std::regex double_load(R"(^ldu?r d[0-9]+, \[x[0-9]+[^\]]*\]$)");
  const std::regex double_store(R"(^stu?r d[0-9]+, \[x[0-9]+[^\]]*\]$)");
#endif
  for (const auto& [name, reads] : {std::pair{"memprobe_bw_sum3_scalar", 3U}, std::pair{"memprobe_bw_sum2_scalar", 2U}}) {
    const Listing sum = disassemble(name);
    EXPECT_GE(count_matching(sum, word_load), 4 * reads) << name << ": missing loads\n" << sum.raw;
    EXPECT_GE(count_matching(sum, word_store), 4U) << name << ": missing stores\n" << sum.raw;
  }
  const Listing triad = disassemble("memprobe_bw_triad_scalar");
  EXPECT_GE(count_matching(triad, double_load), 8U) << "triad: missing loads\n" << triad.raw;
  EXPECT_GE(count_matching(triad, double_store), 4U) << "triad: missing stores\n" << triad.raw;
}

#if defined(__x86_64__)

struct VectorCase {
  VectorWidth width;
  const char* suffix;
  const char* reg;  // "zmm" / "ymm"
};

TEST(BandwidthKernelsDisassemblyTest, VectorKernelsUseTheirWidth) {
  for (const VectorCase& v : {VectorCase{VectorWidth::kAvx512, "avx512", "zmm"}, VectorCase{VectorWidth::kAvx2, "avx2", "ymm"}}) {
    SCOPED_TRACE(v.suffix);
    // The code is in the binary whatever the CPU; only running it needs the CPU.
    const Listing read = disassemble(std::string("memprobe_bw_read_") + v.suffix);
    if (read.skip_reason) GTEST_SKIP() << *read.skip_reason;
    ASSERT_FALSE(read.instructions.empty()) << read.raw;
    // A load of a vector register from memory: vmovdqa64/vmovdqu/vpaddq (mem),%zmm.
    const std::regex load(std::string(R"(^v[a-z0-9]+ +(-?0x[0-9a-f]+)?\(%r[a-z0-9]+(,%r[a-z0-9]+,[0-9])?\),(%)") +
                          v.reg + R"([0-9]+,)?%)" + v.reg);
    EXPECT_GE(count_matching(read, load), 4U) << "read: no " << v.reg << " loads\n" << read.raw;
    const Listing write = disassemble(std::string("memprobe_bw_write_") + v.suffix);
    const std::regex store(std::string(R"(^vmov[a-z0-9]+ +%)") + v.reg + R"([0-9]+,(-?0x[0-9a-f]+)?\(%r)");
    EXPECT_GE(count_matching(write, store), 4U) << "write: no " << v.reg << " stores\n" << write.raw;
    const Listing nt = disassemble(std::string("memprobe_bw_nt_write_") + v.suffix);
    const std::regex stream(std::string(R"(^vmovntdq +%)") + v.reg);
    EXPECT_GE(count_matching(nt, stream), 4U) << "nt-write: no vmovntdq\n" << nt.raw;
    const Listing copy = disassemble(std::string("memprobe_bw_copy_") + v.suffix);
    EXPECT_GE(count_matching(copy, load), 4U) << copy.raw;
    EXPECT_GE(count_matching(copy, store), 4U) << copy.raw;
    // The mixes: 4 vectors of each stream per iteration, none hoisted or
    // dropped: 3:1 = 12 loads + 4 stores, 2:1 and the triad 8 + 4.
    const Listing sum3 = disassemble(std::string("memprobe_bw_sum3_") + v.suffix);
    EXPECT_GE(count_matching(sum3, load), 12U) << "sum3\n" << sum3.raw;
    EXPECT_GE(count_matching(sum3, store), 4U) << "sum3\n" << sum3.raw;
    const Listing sum2 = disassemble(std::string("memprobe_bw_sum2_") + v.suffix);
    EXPECT_GE(count_matching(sum2, load), 8U) << "sum2\n" << sum2.raw;
    EXPECT_GE(count_matching(sum2, store), 4U) << "sum2\n" << sum2.raw;
    const Listing triad = disassemble(std::string("memprobe_bw_triad_") + v.suffix);
    EXPECT_GE(count_matching(triad, load), 8U) << "triad\n" << triad.raw;
    EXPECT_GE(count_matching(triad, store), 4U) << "triad\n" << triad.raw;
  }
  if (!vector_supported(VectorWidth::kAvx512))
    std::printf("note: this CPU lacks AVX-512; its kernels were checked but cannot run here\n");
}

#endif  // __x86_64__

}  // namespace
}  // namespace memprobe::core
