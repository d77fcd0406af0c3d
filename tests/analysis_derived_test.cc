#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "analysis/derived.h"
#include "analysis/family.h"
#include "analysis/families/latency.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;
constexpr double kGiB = 1024.0 * kMiB;

double unit_noise(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2 - 1; }

struct CurveSpec {
  std::vector<double> steps_bytes = {32 * kKiB, 512 * kKiB, 32 * kMiB};
  std::vector<double> levels_ns = {1.2, 4, 12, 90};
  double max_bytes = 1 * kGiB;
  double noise = 0.03;
  std::uint64_t seed = 7;
};

// Latency cases of one page policy on a 4-per-octave grid from 4 KiB, with
// repetitions spread +-1 % around the median.
void add_latency_cases(Results& results, const std::string& page, const CurveSpec& spec,
                       const std::string& verified = "") {
  std::mt19937_64 rng(spec.seed);
  for (int k = 0;; ++k) {
    const double size = 4 * kKiB * std::pow(2.0, k / 4.0);
    if (size > spec.max_bytes * 1.0001) break;
    std::size_t level = 0;
    while (level < spec.steps_bytes.size() && size > spec.steps_bytes[level] * 1.0001) ++level;
    const double ns = spec.levels_ns[level] * (1 + spec.noise * unit_noise(rng));
    Case c;
    c.family = "latency";
    c.name = "latency/" + page + "/bytes:" + std::to_string(static_cast<std::uint64_t>(size));
    c.params = {{"working_set_bytes", static_cast<std::uint64_t>(size)}, {"page", page}, {"stride_bytes", 64}};
    c.metrics = {{"ns_per_load", ns}, {"cycles_per_load", ns * 3}};
    c.spread = {10, ns * 0.99, ns, ns * 1.01};
    c.backing = {page, verified.empty() ? page : verified, page == "4k" ? 0.0 : 1.0};
    results.cases.push_back(c);
  }
}

Results synthetic_results() {
  Results r;
  r.machine.core_hz = 3e9;
  r.machine.caches = {{1, "data", 32 * kKiB, 64, 8},
                      {1, "instruction", 32 * kKiB, 64, 8},
                      {2, "unified", 512 * kKiB, 64, 8},
                      {3, "unified", 32 * kMiB, 64, 16}};
  return r;
}

const CacheLevelRow& row_named(const std::vector<CacheLevelRow>& rows, const std::string& level) {
  for (const CacheLevelRow& row : rows)
    if (row.level == level) return row;
  throw std::runtime_error("no row " + level);
}

// L1/L2/L3/DRAM rows of the default step curve: sizes within 1.5x, levels
// within the noise, cycles = ns * 3 (core_hz 3e9), spread of +-1 % repetitions.
void check_step_curve_rows(const std::vector<CacheLevelRow>& rows) {
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].level, "L1");
  EXPECT_EQ(rows[1].level, "L2");
  EXPECT_EQ(rows[2].level, "L3");
  EXPECT_EQ(rows[3].level, "DRAM");

  const std::vector<double> reported = {32 * kKiB, 512 * kKiB, 32 * kMiB};
  const std::vector<double> levels = {1.2, 4, 12, 90};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(rows[i].level);
    ASSERT_TRUE(rows[i].reported_bytes && rows[i].detected_bytes);
    EXPECT_DOUBLE_EQ(*rows[i].reported_bytes, reported[i]);
    EXPECT_LE(std::fabs(std::log2(*rows[i].detected_bytes / reported[i])), std::log2(1.5));
    EXPECT_TRUE(rows[i].note.empty()) << rows[i].note;
  }
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(rows[i].level);
    ASSERT_TRUE(rows[i].latency_ns && rows[i].latency_cycles && rows[i].spread_pct);
    EXPECT_NEAR(*rows[i].latency_ns / levels[i], 1.0, 0.03);
    EXPECT_NEAR(*rows[i].latency_cycles, *rows[i].latency_ns * 3, 1e-9);
    EXPECT_NEAR(*rows[i].spread_pct, 2.0, 1e-9);  // (1.01 - 0.99) / 1 * 100
  }
  EXPECT_FALSE(rows[3].reported_bytes.has_value());
  EXPECT_FALSE(rows[3].detected_bytes.has_value());
}

TEST(DerivedTest, LatencyCurveSelectsOnePagePolicy) {
  Results r = synthetic_results();
  add_latency_cases(r, "4k", {});
  add_latency_cases(r, "thp", {});
  Case other;
  other.family = "tlb";
  other.params = {{"working_set_bytes", 4096}, {"page", "4k"}};
  other.metrics = {{"ns_per_load", 1.0}};
  r.cases.push_back(other);
  const auto curve = latency_curve(r, "4k");
  ASSERT_EQ(curve.size(), 73u);  // 4 KiB .. 1 GiB, 4 per octave
  EXPECT_DOUBLE_EQ(curve.front().size_bytes, 4 * kKiB);
  EXPECT_DOUBLE_EQ(curve.back().size_bytes, 1 * kGiB);
  EXPECT_TRUE(latency_curve(r, "hugetlb-2m").empty());
  EXPECT_EQ(latency_pages(r), (std::vector<std::string>{"4k", "thp"}));
}

// Each level's figure is read at a point of its own range (the drift family
// re-measures it there): a working set the sweep measured, between the knees
// around the level, whose value is the figure within the curve's noise.
void check_figure_points(const std::vector<CacheLevelRow>& rows, const std::vector<CurvePoint>& curve,
                         double noise) {
  double lower_bytes = 0;
  for (const CacheLevelRow& row : rows) {
    SCOPED_TRACE(row.level);
    ASSERT_TRUE(row.figure_bytes && row.latency_ns);
    EXPECT_GT(*row.figure_bytes, lower_bytes);
    if (row.detected_bytes) {
      EXPECT_LE(*row.figure_bytes, *row.detected_bytes);
      lower_bytes = *row.detected_bytes;
    }
    const auto point = std::find_if(curve.begin(), curve.end(),
                                    [&](const CurvePoint& p) { return p.size_bytes == *row.figure_bytes; });
    ASSERT_NE(point, curve.end()) << "a working set the sweep measured";
    EXPECT_NEAR(point->value / *row.latency_ns, 1.0, 2 * noise);
  }
}

TEST(DerivedTest, CacheLevelsFromAStepCurve) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    Results r = synthetic_results();
    CurveSpec spec;
    spec.seed = seed;
    add_latency_cases(r, "4k", spec);
    const std::vector<CacheLevelRow> rows = derive_cache_levels(r);
    check_step_curve_rows(rows);
    check_figure_points(rows, latency_curve(r, "4k"), spec.noise);
  }
}

TEST(DerivedTest, LastCacheKneeFarBelowItsSizeStillEndsTheLastLevel) {
  Results r = synthetic_results();
  r.machine.hypervisor = "KVM";
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 512 * kKiB, 4 * kMiB};  // 8x below the reported L3
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l3 = row_named(rows, "L3");
  ASSERT_TRUE(l3.detected_bytes);
  EXPECT_DOUBLE_EQ(*l3.detected_bytes, 4 * kMiB);
  EXPECT_NEAR(*l3.latency_ns, 12, 12 * 0.03);
  EXPECT_EQ(l3.note.rfind("measured knee at 4 MiB vs 32 MiB reported", 0), 0u) << l3.note;
  EXPECT_NEAR(*row_named(rows, "DRAM").latency_ns, 90, 90 * 0.03);
}

TEST(DerivedTest, LatencyCreepingUpBeforeTheKneeUsesTheFirstPlateau) {
  Results r = synthetic_results();
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 128 * kKiB, 512 * kKiB, 32 * kMiB};  // 6.5 ns for the last 2 octaves
  spec.levels_ns = {1.2, 4, 6.5, 12, 90};
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l2 = row_named(rows, "L2");
  ASSERT_TRUE(l2.detected_bytes && l2.latency_ns);
  EXPECT_DOUBLE_EQ(*l2.detected_bytes, 512 * kKiB);
  EXPECT_NEAR(*l2.latency_ns, 4, 4 * 0.03);
  EXPECT_EQ(l2.note.rfind("latency rises within the level: ", 0), 0u) << l2.note;
  EXPECT_NEAR(*row_named(rows, "L3").latency_ns, 12, 12 * 0.03);
}

// A curve measured on the project's KVM guest (memprobe run, 4k pages, a
// moment when other tenants held most of the host's L3): L2 (1 MiB) fades in
// over two octaves with no sharp knee, and the L3 ends at ~3 MiB.
TEST(DerivedTest, LevelAfterOneWithoutKneeTakesItsLatencyAboveThatLevel) {
  const std::vector<std::pair<double, double>> measured = {
      {4096, 1.09}, {4864, 1.1}, {5824, 1.1}, {6912, 1.1}, {8192, 1.09}, {9728, 1.1}, {11584, 1.1}, {13760, 1.1}, {16384, 1.1}, {19456, 1.1}, {23168, 1.1}, {24576, 1.1}, {27584, 1.1}, {28672, 1.1}, {32768, 1.29}, {36864, 3.88}, {38976, 3.84}, {40960, 3.84}, {46336, 3.85}, {55104, 3.84}, {65536, 3.84}, {77952, 3.85}, {92672, 3.86}, {110208, 3.87}, {131072, 3.86}, {155840, 3.82}, {185344, 3.86}, {220416, 3.86}, {262144, 3.89}, {311744, 3.88}, {370752, 3.91}, {440896, 3.93}, {524288, 4.1}, {623488, 4.56}, {741440, 5.68}, {786432, 6.19}, {881728, 7.18}, {917504, 7.5}, {1048576, 8.12}, {1179648, 9.49}, {1246976, 9.22}, {1310720, 9.7}, {1482880, 10.3}, {1763456, 11.1}, {2097152, 11.3}, {2493952, 11.5}, {2965824, 12.4}, {3526976, 107}, {4194304, 72.1}, {4987904, 108}, {5931648, 108}, {7053952, 104}, {8388608, 107}, {9975808, 106}, {11863296, 103}, {14107904, 103}, {16777216, 104}, {19951616, 104}, {23726592, 103}, {25165824, 104}, {28215808, 102}, {29360128, 106}, {33554432, 103}, {37748736, 104}, {39903168, 104}, {41943040, 104}, {47453120, 104}, {56431616, 102}, {67108864, 106}, {79806336, 104}, {94906240, 103}, {112863232, 105}, {134217728, 102}, {159612672, 107}, {189812544, 106}, {225726400, 105}, {268435456, 104}};
  Results r = synthetic_results();
  r.machine.hypervisor = "KVM";
  r.machine.caches[2].size_bytes = 1 * kMiB;
  for (const auto& [size, ns] : measured) {
    Case c;
    c.family = "latency";
    c.name = "latency/4k/bytes:" + std::to_string(static_cast<std::uint64_t>(size));
    c.params = {{"working_set_bytes", static_cast<std::uint64_t>(size)}, {"page", "4k"}, {"stride_bytes", 64}};
    c.metrics = {{"ns_per_load", ns}, {"cycles_per_load", ns * 3}};
    c.spread = {5, ns * 0.99, ns, ns * 1.01};
    c.backing = {"4k", "4k", 0.0};
    r.cases.push_back(c);
  }
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l2 = row_named(rows, "L2");
  const CacheLevelRow& l3 = row_named(rows, "L3");
  ASSERT_TRUE(l2.latency_ns && l3.latency_ns);
  EXPECT_NEAR(*l2.latency_ns, 3.86, 0.1);
  // The L3's latency is what working sets beyond the L2 see (9-12.4 ns here),
  // not the L2's plateau.
  EXPECT_GT(*l3.latency_ns, 9.0) << l3.note;
  EXPECT_LT(*l3.latency_ns, 12.5) << l3.note;
  EXPECT_NE(l3.note.find("no plateau of its own"), std::string::npos) << l3.note;
  ASSERT_TRUE(l3.detected_bytes);
  EXPECT_GT(*l3.detected_bytes, 2 * kMiB);
  EXPECT_LT(*l3.detected_bytes, 3.6 * kMiB);
}

TEST(DerivedTest, SweepThatStopsShortOfDramSaysSo) {
  // Capped at the reported 32 MiB L3, and inside it at 8 MiB
  // (--max-working-set below the LLC): L3's plateau has no knee after it.
  // It is L3's latency, not "a plateau no one reported", and DRAM has none.
  for (const double cap_bytes : {32 * kMiB, 8 * kMiB}) {
    Results r = synthetic_results();
    CurveSpec spec;
    spec.max_bytes = cap_bytes;
    add_latency_cases(r, "4k", spec);
    const auto rows = derive_cache_levels(r);
    const CacheLevelRow& dram = row_named(rows, "DRAM");
    EXPECT_FALSE(dram.latency_ns.has_value());
    EXPECT_FALSE(dram.latency_cycles.has_value());
    EXPECT_NE(dram.note.find("sweep did not reach DRAM"), std::string::npos) << dram.note;
    EXPECT_NE(dram.note.find(cap_bytes == 8 * kMiB ? "8 MiB" : "32 MiB"), std::string::npos) << dram.note;
    // The caches below are still there.
    ASSERT_TRUE(row_named(rows, "L2").latency_ns);
    EXPECT_NEAR(*row_named(rows, "L2").latency_ns, 4, 4 * 0.03);
    ASSERT_TRUE(row_named(rows, "L3").latency_ns);
    EXPECT_NEAR(*row_named(rows, "L3").latency_ns, 12, 12 * 0.03);
    for (const CacheLevelRow& row : rows)
      EXPECT_EQ(row.note.find("matches no reported level"), std::string::npos) << row.level << ": " << row.note;
  }
}

// A sweep that ended one octave into DRAM (its time limit) shows no DRAM, so
// no level is known; the later families' sets are bounded where that last
// plateau starts, not at the sweep's end or a reported 508 MiB L3.
TEST(DerivedTest, ASweepEndedAnOctaveIntoDramBoundsTheLevelsTheRunSizesFrom) {
  const FamilyDescriptor* latency = find_family("latency");
  ASSERT_TRUE(latency && latency->sizing_figures);
  Results r = synthetic_results();
  r.machine.caches.back().size_bytes = 508 * kMiB;
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 512 * kKiB, 16 * kMiB};
  spec.max_bytes = 45.3 * kMiB;  // DRAM from 19 MiB: 1.25 octaves of it
  add_latency_cases(r, "4k", spec);
  add_latency_cases(r, "thp", spec);
  ASSERT_FALSE(latency_dram_plateau(r, "4k")) << "two octaves are not there";
  SizingFigures cut;
  latency->sizing_figures(r, cut);
  EXPECT_TRUE(cut.cache_bytes.empty());
  EXPECT_GT(cut.cache_bound_bytes, 16 * kMiB);
  EXPECT_LE(cut.cache_bound_bytes, 20 * kMiB) << "the first point of the last plateau";

  // Once the curve has shown DRAM, the levels themselves; no bound.
  Results shown = synthetic_results();
  spec.max_bytes = 256 * kMiB;
  add_latency_cases(shown, "4k", spec);
  SizingFigures full;
  latency->sizing_figures(shown, full);
  EXPECT_EQ(full.cache_bytes.size(), 3u);
  EXPECT_EQ(full.cache_bound_bytes, 0u);
  // Inside L3 (no plateau past its knee) there is no bound either.
  Results inside = synthetic_results();
  spec.max_bytes = 8 * kMiB;
  add_latency_cases(inside, "4k", spec);
  SizingFigures none;
  latency->sizing_figures(inside, none);
  EXPECT_EQ(none.cache_bound_bytes, 0u);
}

TEST(DerivedTest, KneeFarFromReportedSizeIsNotedWithTheHypervisor) {
  Results r = synthetic_results();
  r.machine.hypervisor = "KVM";
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 512 * kKiB, 8 * kMiB};
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l3 = row_named(rows, "L3");
  ASSERT_TRUE(l3.detected_bytes);
  EXPECT_DOUBLE_EQ(*l3.detected_bytes, 8 * kMiB);
  EXPECT_EQ(l3.note,
            "measured knee at 8 MiB vs 32 MiB reported (KVM guest: the hypervisor may hide the real L3 geometry)");
  ASSERT_TRUE(l3.latency_ns);
  EXPECT_NEAR(*l3.latency_ns, 12, 12 * 0.03);

  r.machine.hypervisor.reset();
  EXPECT_EQ(row_named(derive_cache_levels(r), "L3").note, "measured knee at 8 MiB vs 32 MiB reported");
}

TEST(DerivedTest, LevelWithoutKneeTakesPointsBelowItsReportedSize) {
  Results r = synthetic_results();
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 32 * kMiB};  // L2 is as fast as L3 here: no knee near 512 KiB
  spec.levels_ns = {1.2, 12, 90};
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l2 = row_named(rows, "L2");
  EXPECT_FALSE(l2.detected_bytes.has_value());
  ASSERT_TRUE(l2.latency_ns);
  EXPECT_NEAR(*l2.latency_ns, 12, 12 * 0.03);
  EXPECT_EQ(l2.note, "no clear knee; latency from points below reported size");
  ASSERT_TRUE(row_named(rows, "L3").detected_bytes);
  EXPECT_NEAR(*row_named(rows, "DRAM").latency_ns, 90, 90 * 0.03);
}

// The Zen 5 guest's shape: CPUID reports a 508 MiB L3 (16x the 32 MiB per
// CCD, and far more than the guest sees), the curve's L3 ends at ~5 MiB.
TEST(DerivedTest, LlcReportedSixteenTimesTooLargeStillGivesL3AndDram) {
  Results r = synthetic_results();
  r.machine.hypervisor = "bhyve";
  r.machine.caches[3].size_bytes = 508 * kMiB;
  CurveSpec spec;
  spec.steps_bytes = {48 * kKiB, 1 * kMiB, 5 * kMiB};
  spec.levels_ns = {1.1, 3.6, 13, 108};
  spec.max_bytes = 32 * kMiB;  // where the growing sweep stops: 2.5 octaves of DRAM
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& l3 = row_named(rows, "L3");
  ASSERT_TRUE(l3.detected_bytes && l3.latency_ns) << l3.note;
  EXPECT_LE(std::fabs(std::log2(*l3.detected_bytes / (5 * kMiB))), 0.25) << *l3.detected_bytes;
  EXPECT_NEAR(*l3.latency_ns, 13, 13 * 0.03);
  EXPECT_NE(l3.note.find("vs 508 MiB reported (bhyve guest"), std::string::npos) << l3.note;
  const CacheLevelRow& dram = row_named(rows, "DRAM");
  ASSERT_TRUE(dram.latency_ns) << dram.note;
  EXPECT_NEAR(*dram.latency_ns, 108, 108 * 0.03);
  EXPECT_TRUE(latency_dram_plateau(r, "4k").has_value());
}

// --max-working-set 256MiB under that 508 MiB claim: every level the sweep
// reached is in the table, and DRAM because the curve reached it (before,
// the knee into DRAM was read as L3 and DRAM "not reached").
TEST(DerivedTest, SweepCappedBelowTheReportedLlcKeepsEveryLevelItReached) {
  Results r = synthetic_results();
  r.machine.caches[3].size_bytes = 508 * kMiB;
  CurveSpec spec;
  spec.steps_bytes = {48 * kKiB, 1 * kMiB, 5 * kMiB};
  spec.levels_ns = {1.1, 3.6, 13, 108};
  spec.max_bytes = 256 * kMiB;
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  ASSERT_TRUE(row_named(rows, "L3").latency_ns);
  EXPECT_NEAR(*row_named(rows, "L3").latency_ns, 13, 13 * 0.03);
  ASSERT_TRUE(row_named(rows, "DRAM").latency_ns) << row_named(rows, "DRAM").note;
  EXPECT_NEAR(*row_named(rows, "DRAM").latency_ns, 108, 108 * 0.03);

  // Capped before DRAM showed two octaves: every cache level, no DRAM.
  Results short_sweep = synthetic_results();
  short_sweep.machine.caches[3].size_bytes = 508 * kMiB;
  spec.max_bytes = 12 * kMiB;
  add_latency_cases(short_sweep, "4k", spec);
  const auto short_rows = derive_cache_levels(short_sweep);
  ASSERT_TRUE(row_named(short_rows, "L2").latency_ns);
  EXPECT_NEAR(*row_named(short_rows, "L2").latency_ns, 3.6, 3.6 * 0.03);
  EXPECT_FALSE(row_named(short_rows, "DRAM").latency_ns.has_value());
  EXPECT_NE(row_named(short_rows, "DRAM").note.find("sweep did not reach DRAM"), std::string::npos);
}

// A level the system reports but the curve does not show: said, and DRAM
// still found where the curve has it.
TEST(DerivedTest, ReportedLevelWithoutAPlateauIsSaid) {
  Results r = synthetic_results();
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 512 * kKiB};  // no L3 plateau at all
  spec.levels_ns = {1.2, 4, 90};
  spec.max_bytes = 128 * kMiB;  // 2x the reported 32 MiB L3 and more
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  // Two cache plateaus for three reported levels: the step into DRAM ends
  // the last level (its size is noted as far from the reported one), and
  // the level left without a knee says so.
  const CacheLevelRow& l2 = row_named(rows, "L2");
  const CacheLevelRow& l3 = row_named(rows, "L3");
  EXPECT_FALSE(l2.detected_bytes.has_value());
  EXPECT_NE(l2.note.find("no clear knee"), std::string::npos) << l2.note;
  ASSERT_TRUE(l3.detected_bytes);
  EXPECT_NE(l3.note.find("vs 32 MiB reported"), std::string::npos) << l3.note;
  ASSERT_TRUE(row_named(rows, "DRAM").latency_ns);
  EXPECT_NEAR(*row_named(rows, "DRAM").latency_ns, 90, 90 * 0.03);
}

// A plateau no one reported (hwloc lists L1 and L2 only; the curve has an
// L3): said on the level above it, not silently folded into DRAM.
TEST(DerivedTest, PlateauNoOneReportedIsSaid) {
  Results r = synthetic_results();
  r.machine.caches.pop_back();  // no L3 reported
  CurveSpec spec;               // L1, L2, L3 (12 ns to 32 MiB), DRAM
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  ASSERT_EQ(rows.size(), 3u);  // L1, L2, DRAM
  const CacheLevelRow& dram = row_named(rows, "DRAM");
  ASSERT_TRUE(dram.latency_ns) << dram.note;
  EXPECT_NEAR(*dram.latency_ns, 90, 90 * 0.03);
  const std::string all_notes = row_named(rows, "L2").note + dram.note;
  EXPECT_NE(all_notes.find("matches no reported level"), std::string::npos) << all_notes;
}

// Translation costs on top of DRAM at GiB sizes (nested page walks in a
// guest) are not another level and do not move the DRAM figure.
TEST(DerivedTest, DramIsThePlateauAfterTheLastCacheNotTheLargestWorkingSet) {
  Results r = synthetic_results();
  CurveSpec spec;
  spec.steps_bytes = {32 * kKiB, 512 * kKiB, 8 * kMiB, 512 * kMiB};
  spec.levels_ns = {1.2, 4, 12, 105, 150};
  spec.max_bytes = 4 * kGiB;
  add_latency_cases(r, "4k", spec);
  const auto rows = derive_cache_levels(r);
  const CacheLevelRow& dram = row_named(rows, "DRAM");
  ASSERT_TRUE(dram.latency_ns);
  EXPECT_NEAR(*dram.latency_ns, 105, 105 * 0.03);
  EXPECT_NE(dram.note.find("not another level"), std::string::npos) << dram.note;
  EXPECT_NEAR(*row_named(rows, "L3").latency_ns, 12, 12 * 0.03);
}

TEST(DerivedTest, SpreadIsTheTypicalCaseOnThePlateau) {
  Results r = synthetic_results();
  add_latency_cases(r, "4k", {});
  Results one_noisy = r;
  for (Case& c : one_noisy.cases) {
    if (c.params["working_set_bytes"] == 131072) {  // one point on the L2 plateau
      c.spread.min = c.spread.median * 0.95;
      c.spread.max = c.spread.median * 1.05;
    }
  }
  // One preempted point does not make the plateau noisy...
  EXPECT_NEAR(*row_named(derive_cache_levels(one_noisy), "L2").spread_pct, 2.0, 1e-9);
  EXPECT_NEAR(*row_named(derive_cache_levels(one_noisy), "L1").spread_pct, 2.0, 1e-9);
  // ...a plateau of noisy points does.
  Results all_noisy = r;
  for (Case& c : all_noisy.cases) {
    const double ws = c.params["working_set_bytes"].get<double>();
    if (ws > 32 * kKiB && ws <= 512 * kKiB) {  // the whole L2 plateau
      c.spread.min = c.spread.median * 0.95;
      c.spread.max = c.spread.median * 1.05;
    }
  }
  EXPECT_NEAR(*row_named(derive_cache_levels(all_noisy), "L2").spread_pct, 10.0, 1e-9);
}

TEST(DerivedTest, NoCoreClockMeansNoCycles) {
  Results r = synthetic_results();
  r.machine.core_hz = 0;
  add_latency_cases(r, "4k", {});
  for (const CacheLevelRow& row : derive_cache_levels(r)) {
    EXPECT_TRUE(row.latency_ns.has_value()) << row.level;
    EXPECT_FALSE(row.latency_cycles.has_value()) << row.level;
  }
}

TEST(DerivedTest, NoLatencyCasesStillListsTheLevels) {
  const auto rows = derive_cache_levels(synthetic_results());
  ASSERT_EQ(rows.size(), 4u);
  for (const CacheLevelRow& row : rows) EXPECT_FALSE(row.latency_ns.has_value());
  EXPECT_EQ(rows[3].note, "no latency measurements");
  EXPECT_EQ(preferred_latency_page(synthetic_results()), "");
}

TEST(DerivedTest, PreferredPageIsAVerifiedHugePageCurve) {
  Results r = synthetic_results();
  add_latency_cases(r, "4k", {});
  EXPECT_EQ(preferred_latency_page(r), "4k");

  Results thp = r;
  add_latency_cases(thp, "thp", {});
  EXPECT_EQ(preferred_latency_page(thp), "thp");

  Results mixed = r;
  add_latency_cases(mixed, "thp", {}, "mixed");
  EXPECT_EQ(preferred_latency_page(mixed), "4k");
  EXPECT_FALSE(backing_verified(mixed, "thp"));

  Results all = thp;
  add_latency_cases(all, "hugetlb-1g", {});
  add_latency_cases(all, "hugetlb-2m", {});
  EXPECT_EQ(preferred_latency_page(all), "hugetlb-2m");
  EXPECT_EQ(latency_pages(all), (std::vector<std::string>{"4k", "thp", "hugetlb-2m", "hugetlb-1g"}));

  Results only_thp = synthetic_results();
  add_latency_cases(only_thp, "thp", {}, "4k");
  EXPECT_EQ(preferred_latency_page(only_thp), "thp");
}

// The sweep stops once the first policy's (4k) curve spans two octaves of
// DRAM; the THP curve, cheaper by the page walks its 4 KiB chain avoids,
// steps into DRAM later and spans less. Where it starts within a factor of 2
// of the 4k plateau and spans an octave, the 4k curve located its DRAM: the
// table reads the lower THP curve, and says so. A shorter THP plateau is not
// taken, and the 4k curve is read.
TEST(DerivedTest, ALowerCurveUsesTheDramPlateauAnotherCurveLocated) {
  Results r = synthetic_results();
  CurveSpec four_k;
  four_k.steps_bytes = {32 * kKiB, 512 * kKiB, 6 * kMiB};
  four_k.levels_ns = {1.2, 4, 12, 150};
  four_k.max_bytes = 32 * kMiB;
  add_latency_cases(r, "4k", four_k);
  ASSERT_TRUE(latency_dram_plateau(r, "4k"));

  Results located = r;
  CurveSpec thp = four_k;
  thp.steps_bytes = {32 * kKiB, 512 * kKiB, 10 * kMiB};
  thp.levels_ns = {1.2, 4, 11, 110};
  add_latency_cases(located, "thp", thp);
  EXPECT_FALSE(latency_dram_plateau(located, "thp")) << "1.5 octaves: short of its own rule";
  const auto table = table_dram_plateau(located, "thp");
  ASSERT_TRUE(table);
  EXPECT_NEAR(table->plateau.first_bytes, 11.31 * kMiB, 0.01 * kMiB);
  EXPECT_EQ(table->located_by.rfind("DRAM plateau located by the 4k curve", 0), 0u) << table->located_by;
  EXPECT_EQ(preferred_latency_page(located), "thp");
  const CacheLevelRow dram = row_named(derive_cache_levels(located), "DRAM");
  ASSERT_TRUE(dram.latency_ns);
  EXPECT_NEAR(*dram.latency_ns, 110, 110 * 0.03);
  EXPECT_NE(dram.note.find("located by the 4k curve"), std::string::npos) << dram.note;

  Results too_short = r;
  thp.steps_bytes = {32 * kKiB, 512 * kKiB, 16 * kMiB};  // 0.75 octaves of DRAM
  add_latency_cases(too_short, "thp", thp);
  EXPECT_FALSE(table_dram_plateau(too_short, "thp"));
  EXPECT_EQ(preferred_latency_page(too_short), "4k");
  EXPECT_NEAR(*row_named(derive_cache_levels(too_short), "DRAM").latency_ns, 150, 150 * 0.03);
}

TEST(DerivedTest, PreferredPageIsTheLowestVerifiedCurve) {
  // A VM host that backs guest huge pages with 4 KiB pages makes the THP
  // curve slower than the 4 KiB page-group curve: the table must use the 4k one.
  Results r = synthetic_results();
  add_latency_cases(r, "4k", {});
  CurveSpec slower;
  slower.levels_ns = {1.8, 6, 20, 200};
  add_latency_cases(r, "thp", slower);
  EXPECT_EQ(preferred_latency_page(r), "4k");
  EXPECT_EQ(verified_latency_pages(r), (std::vector<std::string>{"4k", "thp"}));

  Results faster = synthetic_results();
  CurveSpec quicker;
  quicker.levels_ns = {1.2, 3.5, 10, 80};
  add_latency_cases(faster, "4k", {});
  add_latency_cases(faster, "thp", quicker);
  EXPECT_EQ(preferred_latency_page(faster), "thp");
}

TEST(DerivedTest, DeriveAllFillsCacheLevelsAndRecordsTheCurve) {
  Results r = synthetic_results();
  add_latency_cases(r, "4k", {});
  add_latency_cases(r, "thp", {});
  derive_all(r);
  ASSERT_EQ(r.derived.cache_levels.size(), 4u);
  EXPECT_EQ(r.derived.extra["latency_curve_page"], "thp");
  const auto first = r.derived.cache_levels;
  derive_all(r);
  ASSERT_EQ(r.derived.cache_levels.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(r.derived.cache_levels[i].latency_ns, first[i].latency_ns);
    EXPECT_EQ(r.derived.cache_levels[i].note, first[i].note);
  }
}

}  // namespace
}  // namespace memprobe::analysis
