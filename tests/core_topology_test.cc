#include "core/topology.h"

#include <thread>

#include <gtest/gtest.h>

#include "core/units.h"

namespace memprobe::core {
namespace {

// hwloc's synthetic parser reads kB/MB as powers of 1000: the descriptions
// below use KiB/MiB so the sizes are the binary ones the tests expect.
TEST(TopologyTest, SyntheticThreeLevelsInnermostFirst) {
  const Topology topology =
      Topology::from_synthetic("pack:1 l3:1(size=32MiB) l2:2(size=512KiB) l1d:1(size=32KiB) core:1 pu:1");
  const auto& caches = topology.data_caches();
  ASSERT_EQ(caches.size(), 3u);
  EXPECT_EQ(caches[0].level, 1);
  EXPECT_EQ(caches[0].kind, "data");
  EXPECT_EQ(caches[0].size_bytes, 32 * kKiB);
  EXPECT_EQ(caches[0].shared_by_cpus, 1u);
  EXPECT_EQ(caches[1].level, 2);
  EXPECT_EQ(caches[1].kind, "unified");
  EXPECT_EQ(caches[1].size_bytes, 512 * kKiB);
  EXPECT_EQ(caches[1].shared_by_cpus, 1u);
  EXPECT_EQ(caches[2].level, 3);
  EXPECT_EQ(caches[2].size_bytes, 32 * kMiB);
  EXPECT_EQ(caches[2].shared_by_cpus, 2u);
  EXPECT_EQ(topology.cores(), 2u);
  EXPECT_EQ(topology.logical_cpus(), 2u);
  EXPECT_EQ(topology.numa_nodes(), 1u);  // hwloc inserts one NUMA node
  EXPECT_EQ(topology.last_level_cache_bytes(), 32 * kMiB);
  EXPECT_EQ(topology.line_bytes(), 64u);
}

TEST(TopologyTest, SyntheticFourLevelsWithSmtAndTwoPackages) {
  const Topology topology = Topology::from_synthetic(
      "pack:2 l4:1(size=128MiB) l3:1(size=36MiB) l2:4(size=2MiB) l1d:1(size=48KiB) core:1 pu:2");
  const auto& caches = topology.data_caches();
  ASSERT_EQ(caches.size(), 4u);
  const std::uint64_t expected_bytes[] = {48 * kKiB, 2 * kMiB, 36 * kMiB, 128 * kMiB};
  const unsigned expected_sharing[] = {2, 2, 8, 8};
  for (std::size_t i = 0; i < caches.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(caches[i].level, static_cast<int>(i) + 1);
    EXPECT_EQ(caches[i].size_bytes, expected_bytes[i]);
    EXPECT_EQ(caches[i].shared_by_cpus, expected_sharing[i]);
  }
  EXPECT_EQ(topology.cores(), 8u);
  EXPECT_EQ(topology.logical_cpus(), 16u);
  EXPECT_EQ(topology.last_level_cache_bytes(), 128 * kMiB);
}

TEST(TopologyTest, SyntheticWithoutCachesReportsNone) {
  const Topology topology = Topology::from_synthetic("pack:1 core:2 pu:1");
  EXPECT_TRUE(topology.data_caches().empty());
  EXPECT_EQ(topology.last_level_cache_bytes(), 0u);
  EXPECT_EQ(topology.line_bytes(), 64u);  // documented default
  EXPECT_EQ(topology.cores(), 2u);
}

TEST(TopologyTest, InvalidSyntheticDescriptionThrows) {
  EXPECT_THROW(Topology::from_synthetic("this is not a topology"), std::exception);
}

TEST(TopologyTest, CopiesAreIndependentValues) {
  Topology original = Topology::from_synthetic("pack:1 l2:1(size=1MiB) l1d:2(size=32KiB) core:1 pu:1");
  const Topology copy = original;
  original = Topology::from_synthetic("pack:1 core:1 pu:1");
  ASSERT_EQ(copy.data_caches().size(), 2u);
  EXPECT_EQ(copy.data_caches()[1].size_bytes, 1 * kMiB);
  EXPECT_EQ(copy.logical_cpus(), 2u);
}

TEST(TopologyTest, RealCacheSizesGrowWithLevel) {
  const Topology topology = Topology::load();
  EXPECT_GT(topology.logical_cpus(), 0u);
  EXPECT_GT(topology.cores(), 0u);
  EXPECT_GE(topology.numa_nodes(), 1u);
  const auto& caches = topology.data_caches();
  if (caches.empty()) GTEST_SKIP() << "hwloc reports no data caches on this machine";
  for (std::size_t i = 0; i < caches.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_GT(caches[i].size_bytes, 0u);
    EXPECT_NE(caches[i].kind, "instruction");
    EXPECT_GE(caches[i].shared_by_cpus, 1u);
    if (i > 0) {
      EXPECT_GT(caches[i].level, caches[i - 1].level);
      EXPECT_GE(caches[i].size_bytes, caches[i - 1].size_bytes);
    }
  }
  EXPECT_EQ(topology.last_level_cache_bytes(), caches.back().size_bytes);
}

// Pinning runs in its own thread so the test runner's thread keeps its affinity.
template <typename F>
void in_thread(F body) {
  std::thread worker(body);
  worker.join();
}

TEST(PinningTest, PinnedThreadRunsOnCpu0) {
  in_thread([] {
    const Result<int> pinned = pin_current_thread(0);
    ASSERT_TRUE(pinned.has_value()) << pinned.error().reason;
    EXPECT_EQ(*pinned, 0);
    EXPECT_EQ(current_cpu(), 0);
  });
}

TEST(PinningTest, PinnedThreadMovesToCpu1) {
  if (Topology::load().logical_cpus() < 2) GTEST_SKIP() << "this machine has a single logical CPU";
  in_thread([] {
    ASSERT_TRUE(pin_current_thread(0).has_value());
    EXPECT_EQ(current_cpu(), 0);
    const Result<int> pinned = pin_current_thread(1);
    ASSERT_TRUE(pinned.has_value()) << pinned.error().reason;
    EXPECT_EQ(current_cpu(), 1);
  });
}

TEST(PinningTest, MissingCpuIsUnavailableAndNamed) {
  in_thread([] {
    const Result<int> pinned = pin_current_thread(99999);
    ASSERT_FALSE(pinned.has_value());
    EXPECT_NE(pinned.error().reason.find("no CPU 99999"), std::string::npos) << pinned.error().reason;
    EXPECT_NE(pinned.error().reason.find("this machine has CPUs"), std::string::npos) << pinned.error().reason;
    const Result<int> negative = pin_current_thread(-1);
    EXPECT_FALSE(negative.has_value());
  });
}

TEST(PinningTest, CurrentCpuIsInRange) {
  const int cpu = current_cpu();
  EXPECT_GE(cpu, 0);
  EXPECT_LT(cpu, static_cast<int>(Topology::load().logical_cpus()) + 1024);
}

// CPUID values recorded on the project machine (AMD EPYC, family 25 model 17,
// KVM guest) with a one-off __cpuid probe.
constexpr CpuidRegs kRecorded80000005{0xff48ff40, 0xff48ff40, 0x20080140, 0x20080140};
constexpr CpuidRegs kRecorded80000006{0x5c002200, 0x6c004200, 0x04006140, 0x0a009140};
constexpr CpuidRegs kRecorded80000019{0, 0, 0, 0};

const TlbLevel* find_tlb(const std::vector<TlbLevel>& tlbs, int level, std::uint64_t page_bytes) {
  for (const TlbLevel& tlb : tlbs) {
    if (tlb.level == level && tlb.page_bytes == page_bytes) return &tlb;
  }
  return nullptr;
}

// The decoded TLB of `level` and `page_bytes` has this kind, entries and ways.
void expect_tlb(const std::vector<TlbLevel>& tlbs, int level, std::uint64_t page_bytes, const std::string& kind,
                unsigned entries, int ways) {
  const TlbLevel* tlb = find_tlb(tlbs, level, page_bytes);
  ASSERT_NE(tlb, nullptr);
  EXPECT_EQ(tlb->kind, kind);
  EXPECT_EQ(tlb->entries, entries);
  EXPECT_EQ(tlb->ways, ways);
}

TEST(CpuidTlbTest, AmdRecordedValuesDecode) {
  const auto tlbs = decode_amd_tlbs(kRecorded80000005, kRecorded80000006, kRecorded80000019);
  ASSERT_EQ(tlbs.size(), 6u);
  for (const TlbLevel& tlb : tlbs) EXPECT_EQ(tlb.kind, "data");

  const TlbLevel* l1_4k = find_tlb(tlbs, 1, 4 * kKiB);
  ASSERT_NE(l1_4k, nullptr);
  EXPECT_EQ(l1_4k->entries, 72u);
  EXPECT_EQ(l1_4k->ways, -1);  // 0xFF = fully associative
  const TlbLevel* l1_2m = find_tlb(tlbs, 1, 2 * kMiB);
  ASSERT_NE(l1_2m, nullptr);
  EXPECT_EQ(l1_2m->entries, 72u);
  EXPECT_EQ(l1_2m->ways, -1);
  const TlbLevel* l2_4k = find_tlb(tlbs, 2, 4 * kKiB);
  ASSERT_NE(l2_4k, nullptr);
  EXPECT_EQ(l2_4k->entries, 3072u);
  EXPECT_EQ(l2_4k->ways, 8);  // code 6
  const TlbLevel* l2_2m = find_tlb(tlbs, 2, 2 * kMiB);
  ASSERT_NE(l2_2m, nullptr);
  EXPECT_EQ(l2_2m->entries, 3072u);
  EXPECT_EQ(l2_2m->ways, 6);  // code 5

  // Leaf 0x80000019 is all zeros in this guest: "unknown", never 0.
  for (int level : {1, 2}) {
    const TlbLevel* gig = find_tlb(tlbs, level, kGiB);
    ASSERT_NE(gig, nullptr) << level;
    EXPECT_FALSE(gig->entries.has_value()) << level;
    EXPECT_EQ(gig->ways, 0) << level;
  }
}

TEST(CpuidTlbTest, AmdOneGigLeafDecodesWhenPresent) {
  // Zen 3 bare-metal-like leaf 0x80000019: L1 64 entries fully (code 0xF),
  // L2 2048 entries 16-way (code 8); instruction halves ignored.
  const CpuidRegs leaf_80000019{0xF040F040, (0x8u << 28) | (2048u << 16) | 0x8040, 0, 0};
  const auto tlbs = decode_amd_tlbs(kRecorded80000005, kRecorded80000006, leaf_80000019);
  const TlbLevel* l1 = find_tlb(tlbs, 1, kGiB);
  ASSERT_NE(l1, nullptr);
  EXPECT_EQ(l1->entries, 64u);
  EXPECT_EQ(l1->ways, -1);
  const TlbLevel* l2 = find_tlb(tlbs, 2, kGiB);
  ASSERT_NE(l2, nullptr);
  EXPECT_EQ(l2->entries, 2048u);
  EXPECT_EQ(l2->ways, 16);
}

// EDX of a leaf-0x18 subleaf: type [4:0], level [7:5], fully associative [8].
constexpr std::uint32_t leaf18_edx(unsigned type, unsigned level, bool fully = false) {
  return type | (level << 5) | (fully ? (1u << 8) : 0u);
}
// EBX: page sizes [3:0], ways [31:16].
constexpr std::uint32_t leaf18_ebx(unsigned page_bits, unsigned ways) { return page_bits | (ways << 16); }

TEST(CpuidTlbTest, IntelLeaf18SkylakeLikeSample) {
  const std::vector<CpuidRegs> subleaves = {
      {6, leaf18_ebx(0x1, 4), 16, leaf18_edx(1, 1)},         // L1 DTLB 4K: 4 ways x 16 sets
      {0, leaf18_ebx(0x6, 4), 8, leaf18_edx(1, 1)},          // L1 DTLB 2M/4M: 32 entries
      {0, leaf18_ebx(0x8, 4), 1, leaf18_edx(1, 1, true)},    // L1 DTLB 1G: 4 entries, fully
      {0, leaf18_ebx(0x1, 8), 16, leaf18_edx(2, 1)},         // ITLB: skipped
      {0, leaf18_ebx(0x3, 12), 128, leaf18_edx(3, 2)},       // STLB 4K+2M: 1536 entries, 12-way
      {0, leaf18_ebx(0x8, 4), 4, leaf18_edx(3, 2)},          // STLB 1G: 16 entries
      {0, 0, 0, 0},                                          // invalid subleaf
  };
  const auto tlbs = decode_intel_leaf18(subleaves);
  ASSERT_EQ(tlbs.size(), 7u);

  expect_tlb(tlbs, 1, 4 * kKiB, "data", 64, 4);
  EXPECT_EQ(find_tlb(tlbs, 1, 2 * kMiB)->entries, 32u);
  EXPECT_EQ(find_tlb(tlbs, 1, 4 * kMiB)->entries, 32u);
  EXPECT_EQ(find_tlb(tlbs, 1, kGiB)->entries, 4u);
  EXPECT_EQ(find_tlb(tlbs, 1, kGiB)->ways, -1);

  expect_tlb(tlbs, 2, 4 * kKiB, "unified", 1536, 12);
  EXPECT_EQ(find_tlb(tlbs, 2, 2 * kMiB)->entries, 1536u);
  EXPECT_EQ(find_tlb(tlbs, 2, kGiB)->entries, 16u);
  for (const TlbLevel& tlb : tlbs) EXPECT_NE(tlb.kind, "instruction");
}

TEST(CpuidTlbTest, IntelLeaf18LoadOnlyCountsAsDataStoreOnlyIsSkipped) {
  const std::vector<CpuidRegs> subleaves = {
      {1, leaf18_ebx(0x1, 8), 8, leaf18_edx(4, 1)},  // load-only 4K: 64 entries
      {0, leaf18_ebx(0x1, 16), 1, leaf18_edx(5, 1, true)},  // store-only: skipped
  };
  const auto tlbs = decode_intel_leaf18(subleaves);
  ASSERT_EQ(tlbs.size(), 1u);
  EXPECT_EQ(tlbs[0].kind, "data");
  EXPECT_EQ(tlbs[0].entries, 64u);
}

TEST(CpuidTlbTest, IntelLeaf2KnownDescriptors) {
  // AL = 0x01 (count), then 0x5A (DTLB0 2M/4M, 32), 0x03 (DTLB 4K, 64),
  // 0x76 (not a data TLB); EBX has 0xFF/0xB2/0xF0 (not data TLBs); ECX has
  // bit 31 set, so its 0x03 must be ignored; EDX has 0xCA (STLB 4K, 512).
  const CpuidRegs leaf2{0x76035a01, 0x00f0b2ff, 0x80000003, 0x00ca0000};
  const auto tlbs = decode_intel_leaf2(leaf2);
  ASSERT_EQ(tlbs.size(), 4u);
  const TlbLevel* l1_4k = find_tlb(tlbs, 1, 4 * kKiB);
  ASSERT_NE(l1_4k, nullptr);
  EXPECT_EQ(l1_4k->entries, 64u);
  EXPECT_EQ(l1_4k->ways, 4);
  EXPECT_EQ(find_tlb(tlbs, 1, 2 * kMiB)->entries, 32u);
  EXPECT_EQ(find_tlb(tlbs, 1, 4 * kMiB)->entries, 32u);
  const TlbLevel* stlb = find_tlb(tlbs, 2, 4 * kKiB);
  ASSERT_NE(stlb, nullptr);
  EXPECT_EQ(stlb->kind, "unified");
  EXPECT_EQ(stlb->entries, 512u);
}

// Data levels from CPUID, or none with the reason: AArch64 has no source,
// and a hypervisor may hide the x86 leaves. Never a guess.
TEST(CpuidTlbTest, ThisMachinesTlbsAreDataLevelsOrSayWhyNot) {
  const TlbReport report = read_tlb_report();
  EXPECT_EQ(report.levels.size(), read_cpuid_tlbs().size());
#if defined(__aarch64__)
  EXPECT_TRUE(report.levels.empty());
  EXPECT_EQ(report.source, kTlbsNotReported + ": AArch64 has no architectural source of TLB sizes (hwloc reports none)");
#else
  if (report.levels.empty()) {
    EXPECT_EQ(report.source.rfind(kTlbsNotReported + ": CPUID", 0), 0U) << report.source;
    return;
  }
  EXPECT_EQ(report.source.rfind("CPUID ", 0), 0U) << report.source;
  for (const TlbLevel& tlb : report.levels) {
    EXPECT_TRUE(tlb.level == 1 || tlb.level == 2) << tlb.level;
    EXPECT_NE(tlb.kind, "instruction");
    EXPECT_TRUE(!tlb.entries || *tlb.entries > 0);
  }
#endif
}

}  // namespace
}  // namespace memprobe::core
