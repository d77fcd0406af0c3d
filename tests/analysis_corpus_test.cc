// Replays the results files kept under results/<machine>/ (one directory per
// CPU generation the project has run on) through today's analysis, against
// expectations written per machine. Each expectation says where it comes
// from: a public specification of the CPU, or the measured curve itself
// (what a guest sees can differ from the spec: a share of the L3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/derived.h"
#include "analysis/families/assoc.h"
#include "analysis/families/latency.h"
#include "analysis/families/tlb.h"
#include "analysis/results_json.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
// A detected size is known to about one step of a 4-per-octave grid.
const double kOneGridStep = std::pow(2.0, 0.25);

struct SizeExpectation {
  std::string level;     // "L1", "L2", "L3"
  double bytes = 0;      // expected detected capacity
  double tolerance = 0;  // allowed ratio either way
  std::string source;    // where `bytes` comes from
};

struct TlbExpectation {
  std::string level;  // "L1 DTLB", "L2 DTLB" (4 KiB pages)
  double entries = 0;
  double tolerance = 0;
  std::string source;
};

struct MachineCorpus {
  std::string file;  // under results/
  std::vector<SizeExpectation> sizes;
  std::vector<TlbExpectation> tlbs;
};

std::vector<MachineCorpus> corpus() {
  return {
      {"amd-fam25-model17-kvm-2cpu/2026-11-24-08bd296.json",
       {{"L1", 32 * kKiB, kOneGridStep, "AMD Zen 4: 32 KiB L1D per core (public spec)"},
        {"L2", 1 * kMiB, kOneGridStep, "AMD Zen 4: 1 MiB L2 per core (public spec)"},
        // The guest sees a share of the 32 MiB per-CCD L3: the curve's knee.
        {"L3", 8 * kMiB, kOneGridStep, "the curve: L3 plateau (11-12 ns) ends between 6.7 and 9.5 MiB"}},
       {{"L1 DTLB", 72, kOneGridStep, "AMD Zen 4: 72-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 3072, kOneGridStep, "AMD Zen 4: 3072-entry L2 DTLB (public spec)"}}},
      {"intel-fam6-model167-kvm-2cpu/2026-12-01-e27ac29.json",
       {{"L1", 48 * kKiB, kOneGridStep, "Intel Golden Cove server core: 48 KiB L1D (public spec)"},
        {"L2", 2 * kMiB, kOneGridStep, "Intel Sapphire Rapids: 2 MiB L2 per core (public spec)"},
        // CPUID reports 480 MiB (the host's); the guest's effective L3 is the knee.
        {"L3", 19 * kMiB, kOneGridStep, "the curve: L3 plateau (21-24 ns) ends between 16 and 22.6 MiB"}},
       {{"L1 DTLB", 96, kOneGridStep, "Intel Golden Cove: 96-entry load DTLB (public spec)"},
        {"L2 DTLB", 2048, kOneGridStep, "Intel Golden Cove: 2048-entry STLB (public spec)"}}},
      // The reference run of the growing sweep (scripts/reference_run.sh at
      // d630c10). Its L2 DTLB knee read 1448, 1.41x below the spec: the TLB
      // detection's run-to-run spread (issue 12) is not asserted here.
      {"intel-fam6-model167-kvm-2cpu/2026-12-02-d630c10.json",
       {{"L1", 48 * kKiB, kOneGridStep, "Intel Golden Cove server core: 48 KiB L1D (public spec)"},
        {"L2", 2 * kMiB, kOneGridStep, "Intel Sapphire Rapids: 2 MiB L2 per core (public spec)"},
        {"L3", 9.51 * kMiB, kOneGridStep, "the curve: L3 plateau (~22 ns) ends between 8 and 11.3 MiB"}},
       {{"L1 DTLB", 96, kOneGridStep, "Intel Golden Cove: 96-entry load DTLB (public spec)"},
        // Its L2 curve creeps up from 512 pages before the STLB's rise: the
        // first-lasting-rise rule reads past the creep (it is smaller than an
        // L1 DTLB miss), where the old largest-step rule read 1448.
        {"L2 DTLB", 2048, kOneGridStep, "Intel Golden Cove: 2048-entry STLB (public spec)"}}},
      // README command 1 on a fresh clone at 03abfea (default `memprobe run --out`),
      // with the growing TLB sweep and the machine's TLB source and page sizes.
      {"intel-fam6-model167-kvm-2cpu/2026-12-02-03abfea.json",
       {{"L1", 48 * kKiB, kOneGridStep, "Intel Golden Cove server core: 48 KiB L1D (public spec)"},
        {"L2", 2 * kMiB, kOneGridStep, "Intel Sapphire Rapids: 2 MiB L2 per core (public spec)"},
        {"L3", 9.51 * kMiB, kOneGridStep, "the curve (thp): L3 plateau (~22 ns) ends between 8 and 11.3 MiB"}},
       {{"L1 DTLB", 96, kOneGridStep, "Intel Golden Cove: 96-entry load DTLB (public spec)"},
        {"L2 DTLB", 2048, kOneGridStep, "Intel Golden Cove: 2048-entry STLB (public spec)"}}},
      // The reference run at a403ca7 (scripts/reference_run.sh: 4k, thp, 2m
      // and 1g pages), after the DRAM rule learnt the translation tail and
      // the per-policy sweep budget; the README's real-run tables.
      {"intel-fam6-model167-kvm-2cpu/2026-12-02-a403ca7.json",
       {{"L1", 48 * kKiB, kOneGridStep, "Intel Golden Cove server core: 48 KiB L1D (public spec)"},
        {"L2", 2 * kMiB, kOneGridStep, "Intel Sapphire Rapids: 2 MiB L2 per core (public spec)"},
        {"L3", std::pow(2.0, 3.5) * kMiB, kOneGridStep,  // 11.3 MiB, a grid point
         "the curve (thp): L3 plateau (~21 ns) to 9.5 MiB, then climbing, past halfway to DRAM by 16 MiB"}},
       {{"L1 DTLB", 96, kOneGridStep, "Intel Golden Cove: 96-entry load DTLB (public spec)"},
        {"L2 DTLB", 2048, kOneGridStep, "Intel Golden Cove: 2048-entry STLB (public spec)"}}},
      // The reference run at 765c029 (scripts/reference_run.sh), with the
      // drift family; the README's real-run tables. Its header says git
      // c6f2875-dirty: the script then reused the binary built from that
      // working tree, which was committed unchanged as 765c029 (it now
      // always rebuilds first). The table reads the
      // hugetlb-2m curve, whose L3 held more this time. Its L2 knee read
      // 1.5 MiB, 1.33x below the 2 MiB spec: that curve leaves the L2
      // plateau from 1 MiB (5.9 ns) and climbs to 12.8 ns at 2 MiB; the L2
      // size's run-to-run spread (1.41-1.75 MiB) is issue 12's, not asserted here.
      {"intel-fam6-model167-kvm-2cpu/2026-12-02-765c029.json",
       {{"L1", 48 * kKiB, kOneGridStep, "Intel Golden Cove server core: 48 KiB L1D (public spec)"},
        {"L3", 16 * kMiB, kOneGridStep,
         "the curve (hugetlb-2m): L3 plateau (20-21 ns) to 13.45 MiB, 24 ns at 16 MiB, 70 ns at 19 MiB"}},
       {{"L1 DTLB", 96, kOneGridStep, "Intel Golden Cove: 96-entry load DTLB (public spec)"},
        {"L2 DTLB", 2048, kOneGridStep, "Intel Golden Cove: 2048-entry STLB (public spec)"}}},
      // Three default runs (`memprobe run --out`) at 5076050 on a Zen 4 KVM
      // guest, from ../shared/corpus/amd-fam25-model17-kvm-2cpu/ (issue 22).
      // The 12-06 run's TLB sweep went to 65536 pages: past the L2 DTLB its
      // curve jumps to ~1000 cycles from 19484 pages (page-table lines
      // leaving the caches), which the old largest-step rule took for the L2
      // DTLB (16384). The cache sizes of these runs are the host's share of
      // the day and are not asserted here (L3 3.36, 9.51 and 4.76 MiB).
      {"amd-fam25-model17-kvm-2cpu/2026-12-06-5076050-default.json",
       {},
       {{"L1 DTLB", 72, kOneGridStep, "AMD Zen 4: 72-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 3072, kOneGridStep, "AMD Zen 4: 3072-entry L2 DTLB (public spec)"}}},
      {"amd-fam25-model17-kvm-2cpu/2026-12-07-5076050-default.json",
       {{"L1", 32 * kKiB, kOneGridStep, "AMD Zen 4: 32 KiB L1D per core (public spec)"}},
       {{"L1 DTLB", 72, kOneGridStep, "AMD Zen 4: 72-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 3072, kOneGridStep, "AMD Zen 4: 3072-entry L2 DTLB (public spec)"}}},
      {"amd-fam25-model17-kvm-2cpu/2026-12-07-5076050-default-b.json",
       {{"L1", 32 * kKiB, kOneGridStep, "AMD Zen 4: 32 KiB L1D per core (public spec)"}},
       {{"L1 DTLB", 72, kOneGridStep, "AMD Zen 4: 72-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 3072, kOneGridStep, "AMD Zen 4: 3072-entry L2 DTLB (public spec)"}}},
      // The reference run (scripts/reference_run.sh: 4k, thp and 2m pages;
      // this kernel has no 1 GiB pool) at b48da6d on a Zen 5 guest (CPU
      // family 26 model 2; hypervisor bhyve by CPUID), quiet machine. CPUID's
      // 12-bit L2 DTLB field overflows (it says 128); its L2 knee read 4871,
      // one grid step above the spec.
      {"amd-fam26-model2-bhyve-2cpu/2026-12-07-b48da6d.json",
       {{"L1", 48 * kKiB, kOneGridStep, "AMD Zen 5: 48 KiB L1D per core (public spec)"},
        {"L2", 1 * kMiB, kOneGridStep, "AMD Zen 5: 1 MiB L2 per core (public spec)"}},
       {{"L1 DTLB", 96, kOneGridStep, "AMD Zen 5: 96-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 4096, kOneGridStep, "AMD Zen 5: 4096-entry L2 DTLB (public spec)"}}},
      // A default `memprobe run --out` on the same kind of guest (2026-12-07,
      // 23:43 UTC), by the binary of the tree 91e24dc commits before its plot
      // captions (its header says 28d3786-dirty). The half-height knee read
      // its L2 DTLB at 5793 entries, two grid steps past the spec: the walk
      // gets dearer inside the rise once the page-table entries outgrow the
      // L1 data cache, and the knee is now read against that height.
      {"amd-fam26-model2-bhyve-2cpu/2026-12-07-28d3786-dirty-default.json",
       {{"L1", 48 * kKiB, kOneGridStep, "AMD Zen 5: 48 KiB L1D per core (public spec)"},
        {"L2", 1 * kMiB, kOneGridStep, "AMD Zen 5: 1 MiB L2 per core (public spec)"}},
       {{"L1 DTLB", 96, kOneGridStep, "AMD Zen 5: 96-entry L1 DTLB (public spec)"},
        {"L2 DTLB", 4096, kOneGridStep, "AMD Zen 5: 4096-entry L2 DTLB (public spec)"}}},
  };
}

const CacheLevelRow* row_named(const std::vector<CacheLevelRow>& rows, const std::string& level) {
  for (const CacheLevelRow& r : rows)
    if (r.level == level) return &r;
  return nullptr;
}

class CorpusTest : public ::testing::TestWithParam<MachineCorpus> {};

TEST_P(CorpusTest, DetectedSizesAndDramMatchTheMachine) {
  const MachineCorpus& m = GetParam();
  const std::string path = std::string(MEMPROBE_SOURCE_DIR) + "/results/" + m.file;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  Results r = load_results(path);
  const std::vector<CacheLevelRow> rows = derive_cache_levels(r);
  for (const SizeExpectation& e : m.sizes) {
    const CacheLevelRow* row = row_named(rows, e.level);
    ASSERT_NE(row, nullptr) << e.level;
    ASSERT_TRUE(row->detected_bytes) << e.level << ": " << row->note;
    const double ratio = *row->detected_bytes / e.bytes;
    EXPECT_LE(std::max(ratio, 1 / ratio), e.tolerance * 1.0001)
        << m.file << " " << e.level << " detected " << *row->detected_bytes << " vs " << e.bytes << " (" << e.source
        << ")";
  }
  // Every level's latency lies above the one before, DRAM's highest: the
  // levels are plateaus of one rising curve.
  const CacheLevelRow* dram = row_named(rows, "DRAM");
  ASSERT_NE(dram, nullptr);
  ASSERT_TRUE(dram->latency_ns) << dram->note;
  double previous = 0;
  for (const CacheLevelRow& row : rows) {
    ASSERT_TRUE(row.latency_ns) << row.level << ": " << row.note;
    EXPECT_GT(*row.latency_ns, previous) << row.level;
    previous = *row.latency_ns;
  }
  // DRAM is where the curve showed it (the sweep-ending rule), not a
  // fallback on the reported LLC.
  const auto plateau = latency_dram_plateau(r, preferred_latency_page(r));
  ASSERT_TRUE(plateau.has_value());
  EXPECT_NEAR(*dram->latency_ns, plateau->level_ns, 1e-9);
}

TEST_P(CorpusTest, DetectedDtlbEntriesMatchTheSpec) {
  const MachineCorpus& m = GetParam();
  Results r = load_results(std::string(MEMPROBE_SOURCE_DIR) + "/results/" + m.file);
  const std::vector<TlbLevelRow> rows = derive_tlb_levels(r);
  for (const TlbExpectation& e : m.tlbs) {
    const TlbLevelRow* found = nullptr;
    for (const TlbLevelRow& row : rows)
      if (row.level == e.level && row.page == "4k") found = &row;
    ASSERT_NE(found, nullptr) << e.level;
    ASSERT_TRUE(found->detected_entries) << e.level << ": " << found->note;
    const double ratio = *found->detected_entries / e.entries;
    EXPECT_LE(std::max(ratio, 1 / ratio), e.tolerance * 1.0001)
        << m.file << " " << e.level << " detected " << *found->detected_entries << " vs " << e.entries << " ("
        << e.source << ")";
  }
}

// No kept file's TLB table takes a walk-cost step for a DTLB level: every
// huge-page L2 row whose L1 misses already cost walks has no figure.
TEST_P(CorpusTest, HugePageL1MissesThatAreWalksGiveNoL2Figure) {
  const MachineCorpus& m = GetParam();
  Results r = load_results(std::string(MEMPROBE_SOURCE_DIR) + "/results/" + m.file);
  const std::vector<TlbLevelRow> rows = derive_tlb_levels(r);
  std::optional<double> l1_4k;
  for (const TlbLevelRow& row : rows)
    if (row.level == "L1 DTLB" && row.page == "4k") l1_4k = row.miss_cost_cycles;
  ASSERT_TRUE(l1_4k) << m.file << ": every kept file swept 4k pages";
  for (const TlbLevelRow& l1 : rows) {
    if (l1.level != "L1 DTLB" || l1.page == "4k" || !l1.miss_cost_cycles || *l1.miss_cost_cycles <= 2 * *l1_4k)
      continue;
    for (const TlbLevelRow& l2 : rows) {
      if (l2.level == "L2 DTLB" && l2.page == l1.page) {
        EXPECT_FALSE(l2.detected_entries) << m.file << " " << l2.page << ": " << l2.note;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, CorpusTest, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<MachineCorpus>& info) {
                           std::string name = info.param.file.substr(0, info.param.file.rfind('.'));
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// The associativity the kept files measured (the assoc family), against the
// public spec: a VIPT L1 shows its ways on any pages, in any guest.
struct AssocExpectation {
  std::string file;  // under results/
  double l1_ways = 0;
  std::string source;
};

std::vector<AssocExpectation> assoc_corpus() {
  return {
      // The reference run at 410142d (scripts/reference_run.sh) on the Zen 5
      // guest (CPU family 26 model 2, bhyve by CPUID).
      {"amd-fam26-model2-bhyve-2cpu/2026-12-07-410142d.json", 12, "AMD Zen 5: 48 KiB 12-way L1D (public spec)"},
  };
}

TEST(AssocCorpusTest, L1WaysMatchTheSpecWhereTheFileMeasuredThem) {
  for (const AssocExpectation& e : assoc_corpus()) {
    SCOPED_TRACE(e.file);
    Results r = load_results(std::string(MEMPROBE_SOURCE_DIR) + "/results/" + e.file);
    const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
    const auto l1 = std::find_if(rows.begin(), rows.end(), [](const AssocCacheRow& row) { return row.level == "L1"; });
    ASSERT_NE(l1, rows.end());
    EXPECT_EQ(l1->verdict, "measured") << l1->evidence;
    ASSERT_TRUE(l1->ways.has_value()) << l1->evidence;
    // A gradual step (something else kept lines of the set warm) bounds the
    // ways from both sides; the spec lies within.
    EXPECT_LE(*l1->ways, e.l1_ways) << "(" << e.source << ") " << l1->evidence;
    EXPECT_GE(l1->ways_gradual_to.value_or(*l1->ways), e.l1_ways) << "(" << e.source << ") " << l1->evidence;
  }
}

// A file without assoc cases (every file before the family) gets no
// associativity figure and no table: nothing is invented from labels.
TEST(AssocCorpusTest, FilesWithoutAssocCasesGetNoAssociativityRows) {
  for (const MachineCorpus& m : corpus()) {
    SCOPED_TRACE(m.file);
    Results r = load_results(std::string(MEMPROBE_SOURCE_DIR) + "/results/" + m.file);
    const bool has_assoc = std::any_of(r.cases.begin(), r.cases.end(), [](const Case& c) { return c.family == "assoc"; });
    if (has_assoc) continue;
    derive_assoc(r);
    EXPECT_TRUE(assoc_cache_rows(r).empty());
    EXPECT_TRUE(assoc_tlb_rows(r).empty());
    EXPECT_EQ(render_assoc_tables(r), "");
  }
}

}  // namespace
}  // namespace memprobe::analysis
