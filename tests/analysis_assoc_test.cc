// The assoc family's analysis on synthetic curves: a cache level's ways where
// the cost jumps at ways + 1, "not visible" where it never does, the way
// stride from the candidate strides; a DTLB's sets and ways from its reach
// at page strides (entries / s down to the ways), fully associative where
// the reach does not shrink. The expectations come from the curves built
// here, which follow set-associative geometry: W lines of one set fit, at
// half the way stride they spread over two sets and 2W fit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "analysis/families/assoc.h"
#include "analysis/fleet.h"

namespace memprobe::analysis {
namespace {

// One cache-probe case: k lines `stride_bytes` apart at `level`.
Case cache_case(const std::string& level, double stride_bytes, double lines, double ns, int reported_ways,
                const std::string& backing = "4k") {
  Case c;
  c.family = "assoc";
  c.name = "assoc/cache/" + level + "/stride:" + std::to_string(stride_bytes) + "/lines:" + std::to_string(lines);
  c.params = {{"role", "cache"},    {"level", level},  {"stride_bytes", stride_bytes}, {"lines", lines},
              {"reported_ways", reported_ways}, {"line_bytes", 64}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {3, ns, ns, ns};
  c.backing = {backing, backing, backing == "4k" ? 0.0 : 1.0};
  return c;
}

// The k curve of a `ways`-way level probed at `stride_bytes` with way stride
// `way_stride_bytes`: hits at hit_ns while the lines fit, miss_ns past them
// (and a costlier first miss, as a cyclic chase under LRU gives).
void add_curve(Results& r, const std::string& level, double stride_bytes, double way_stride_bytes, int ways,
               double max_lines, double hit_ns, double miss_ns, int reported_ways, const std::string& backing = "4k") {
  const double sets_spanned = stride_bytes >= way_stride_bytes ? 1 : way_stride_bytes / stride_bytes;
  const double fit = ways * sets_spanned;
  for (double k = 1; k <= max_lines; ++k) {
    const double ns = k <= fit ? hit_ns : k == fit + 1 ? 2 * miss_ns : miss_ns;
    r.cases.push_back(cache_case(level, stride_bytes, k, ns, reported_ways, backing));
  }
}

TEST(AssocPlateausTest, AJumpAtWaysPlusOneEndsTheFirstPlateauAtTheWays) {
  std::vector<AssocPoint> points;
  for (double k = 1; k <= 20; ++k) points.push_back({k, k <= 8 ? 1.1 : k == 9 ? 8.0 : 4.0});
  const std::vector<AssocPlateau> plateaus = assoc_plateaus(points);
  ASSERT_EQ(plateaus.size(), 2u);
  EXPECT_EQ(plateaus[0].first_lines, 1);
  EXPECT_EQ(plateaus[0].last_lines, 8);
  EXPECT_DOUBLE_EQ(plateaus[0].ns, 1.1);
  EXPECT_EQ(plateaus[1].first_lines, 9);
  EXPECT_DOUBLE_EQ(plateaus[1].ns, 4.0);
}

TEST(AssocPlateausTest, OneHighPointInsideAPlateauIsNoStep) {
  std::vector<AssocPoint> points;
  for (double k = 1; k <= 16; ++k) points.push_back({k, k == 5 ? 3.0 : 1.0});
  EXPECT_EQ(assoc_plateaus(points).size(), 1u);
}

TEST(AssocCacheTest, L1WaysAndWayStrideFromTheCandidateStrides) {
  Results r;
  // A 48 KiB 12-way L1 (4 KiB ways, 64 sets) probed at 2, 4 and 8 KiB.
  for (const double stride : {2048.0, 4096.0, 8192.0}) add_curve(r, "L1", stride, 4096, 12, 28, 1.1, 4.2, 12);
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "measured");
  EXPECT_EQ(rows[0].ways, 12);
  EXPECT_EQ(rows[0].way_stride_bytes, 4096);
  EXPECT_FALSE(rows[0].way_stride_upper_bound);
  EXPECT_EQ(rows[0].sets, 64);
}

TEST(AssocCacheTest, EachKIsReadAtTheLeastDisturbedSetLine) {
  Results r;
  // Set line 37 has two ways taken by something else (10 fit), line 13 none.
  for (const double stride : {2048.0, 4096.0, 8192.0}) {
    Results line37, line13;
    add_curve(line37, "L1", stride, 4096, 10, 28, 1.1, 4.2, 12);
    add_curve(line13, "L1", stride, 4096, 12, 28, 1.1, 4.2, 12);
    for (Case& c : line37.cases) {
      c.params["set_line"] = 37;
      r.cases.push_back(c);
    }
    for (Case& c : line13.cases) {
      c.params["set_line"] = 13;
      r.cases.push_back(c);
    }
  }
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ways, 12);
}

// Something else keeping lines of the probed sets warm makes the step
// gradual: 11 and 12 of 12 ways miss in part. The ways read 10, and the row
// says the level may have up to 12; a sharp step (its first k past the ways
// the costliest) says nothing of the kind.
TEST(AssocCacheTest, AGradualStepSaysHowManyWaysTheLevelMayHave) {
  Results r;
  for (const double stride : {4096.0, 8192.0})
    for (double k = 1; k <= 28; ++k) {
      const double ns = k <= 10 ? 1.1 : k == 11 ? 2.5 : k == 12 ? 3.4 : k == 13 ? 6.0 : 4.1;
      r.cases.push_back(cache_case("L1", stride, k, ns, 12));
    }
  std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ways, 10);
  EXPECT_EQ(rows[0].ways_gradual_to, 12);
  EXPECT_NE(rows[0].evidence.find("gradual"), std::string::npos) << rows[0].evidence;

  Results sharp;
  for (const double stride : {4096.0, 8192.0}) add_curve(sharp, "L1", stride, 4096, 12, 28, 1.1, 4.1, 12);
  rows = derive_assoc_cache_rows(sharp);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ways, 12);
  EXPECT_FALSE(rows[0].ways_gradual_to.has_value());
}

TEST(AssocCacheTest, AWrongReportedFigureIsFoundNotTrusted) {
  Results r;
  // hwloc says 8-way (way stride 6 KiB -> 4 KiB probed); the level is 16-way
  // with 2 KiB ways: at every probed stride 16 lines fit.
  for (const double stride : {2048.0, 4096.0, 8192.0}) add_curve(r, "L1", stride, 2048, 16, 24, 1.0, 4.0, 8);
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ways, 16);
  EXPECT_EQ(rows[0].reported_ways, 8);
  // The smallest stride probed already gives the ways: the way stride is at most it.
  EXPECT_EQ(rows[0].way_stride_bytes, 2048);
  EXPECT_TRUE(rows[0].way_stride_upper_bound);
  EXPECT_FALSE(rows[0].sets.has_value());
}

TEST(AssocCacheTest, NoConflictWhereTheGeometryPredictsOneIsNotVisible) {
  Results r;
  r.machine.hypervisor = "KVM";
  add_curve(r, "L1", 4096, 4096, 8, 20, 1.1, 4.6, 8);
  // L2 lines 128 KiB apart: past the L1's 8 ways they hit the L2 up to the
  // largest k (a guest's huge pages not contiguous on the host).
  for (const double stride : {131072.0, 262144.0}) add_curve(r, "L2", stride, 4096, 8, 20, 1.1, 4.6, 8, "thp");
  // As root the probe read its lines' physical addresses: all in one set.
  for (Case& c : r.cases)
    if (c.params["level"] == "L2") c.params["physical_one_set"] = "yes";
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].level, "L1");
  EXPECT_EQ(rows[0].ways, 8);
  EXPECT_EQ(rows[1].level, "L2");
  EXPECT_EQ(rows[1].verdict, "not visible");
  EXPECT_FALSE(rows[1].ways.has_value()) << "never a number where no conflict appeared";
  EXPECT_NE(rows[1].evidence.find("KVM"), std::string::npos) << rows[1].evidence;
  EXPECT_NE(rows[1].evidence.find("20 lines"), std::string::npos) << rows[1].evidence;
  EXPECT_NE(rows[1].evidence.find("pagemap puts the lines' (guest-)physical addresses"), std::string::npos)
      << rows[1].evidence;
}

TEST(AssocCacheTest, AnOuterLevelsConflictAfterItsHitPlateauGivesItsWays) {
  Results r;
  // The cache table's latencies: L1 1 ns, L2 4 ns, L3 12 ns.
  r.derived.cache_levels = {{"L1", 32768.0, 32768.0, 1.0, 4.0, 1.0, "", std::nullopt},
                            {"L2", 1048576.0, 1048576.0, 4.0, 16.0, 1.0, "", std::nullopt},
                            {"L3", 33554432.0, 33554432.0, 12.0, 48.0, 1.0, "", std::nullopt}};
  // L2 16-way probed at its way stride: L1 hits to 8, L2 hits to 16, L3 past.
  for (double k = 1; k <= 36; ++k)
    r.cases.push_back(cache_case("L2", 65536, k, k <= 8 ? 1.0 : k <= 16 ? 4.0 : 12.0, 16, "hugetlb-2m"));
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "measured");
  EXPECT_EQ(rows[0].ways, 16);
}

TEST(AssocCacheTest, AnOuterLevelWithNoMoreWaysThanTheInnerIsAtMostThose) {
  Results r;
  r.derived.cache_levels = {{"L1", 32768.0, 32768.0, 1.0, 4.0, 1.0, "", std::nullopt},
                            {"L2", 1048576.0, 1048576.0, 4.0, 16.0, 1.0, "", std::nullopt},
                            {"L3", 33554432.0, 33554432.0, 12.0, 48.0, 1.0, "", std::nullopt}};
  // 8-way L1 and 8-way L2: the ninth line misses both, straight to the L3.
  for (double k = 1; k <= 20; ++k) r.cases.push_back(cache_case("L2", 131072, k, k <= 8 ? 1.0 : 12.0, 8, "hugetlb-2m"));
  const std::vector<AssocCacheRow> rows = derive_assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "at most");
  EXPECT_EQ(rows[0].ways, 8);
}

// A DTLB stride row as derive_assoc_tlb_strides gives it.
AssocTlbStrideRow stride_row(double stride, std::optional<double> l1, std::optional<double> first_cycles,
                             std::optional<double> l2, std::optional<double> second_cycles) {
  return {stride, l1, l2, first_cycles, second_cycles};
}

TEST(AssocTlbTest, ReachShrinkingAsOneOverStrideDownToTheWaysGivesSetsAndWays) {
  // A 64-entry fully associative L1 and a 1536-entry 12-way L2 (128 sets):
  // reach 1536 / s down to 12 from s = 128.
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2)
    strides.push_back(stride_row(s, std::min(64.0, 1536 / s), 8.0, std::max(12.0, 1536 / s), 30.0));
  // Where the L2's reach is below the L1's the test's L1 column is that reach
  // too; only the L2 row is judged here.
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, Results{});
  ASSERT_EQ(rows.size(), 2u);
  const AssocTlbRow& l2 = rows[1];
  EXPECT_EQ(l2.level, "L2 DTLB");
  EXPECT_EQ(l2.verdict, "set-associative");
  EXPECT_EQ(l2.ways, 12);
  EXPECT_EQ(l2.sets, 128);
  EXPECT_EQ(l2.entries, 1536);
}

TEST(AssocTlbTest, ReachThatDoesNotShrinkIsFullyAssociative) {
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2) strides.push_back(stride_row(s, 72, 7.0, std::nullopt, std::nullopt));
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, Results{});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].level, "L1 DTLB");
  EXPECT_EQ(rows[0].verdict, "fully associative");
  EXPECT_EQ(rows[0].entries, 72);
  EXPECT_EQ(rows[0].sets, 1);
  EXPECT_EQ(rows[1].verdict, "not decided") << "no stride showed a second level";
}

TEST(AssocTlbTest, AnL2HiddenBehindTheL1IsSetIndexedWithALowerBoundOnItsSets) {
  // A 3072-entry 12-way L2 behind a 72-entry fully associative L1: its reach
  // 3072 / s is visible while it exceeds 72 (s <= 32); from s = 64 the only
  // rise is the L1's, and it costs a walk.
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2) {
    if (3072 / s > 72) strides.push_back(stride_row(s, 72, 7.0, 3072 / s, 40.0));
    else strides.push_back(stride_row(s, 72, 50.0, std::nullopt, std::nullopt));
  }
  // A second rise again past the hidden strides is a walk step, not the L2.
  strides.push_back(stride_row(1024, 72, 50.0, 256.0, 30.0));
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, Results{});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].verdict, "fully associative");
  const AssocTlbRow& l2 = rows[1];
  EXPECT_EQ(l2.verdict, "set-indexed");
  EXPECT_EQ(l2.entries, 3072);
  EXPECT_EQ(l2.sets, 32);
  EXPECT_TRUE(l2.sets_lower_bound);
  EXPECT_NE(l2.evidence.find("from stride 64"), std::string::npos) << l2.evidence;
}

// One ways-probe case: k pages per set in `sets` sets, cycles per load.
Case ways_case(double sets, double k, double cycles) {
  Case c;
  c.family = "assoc";
  c.name = "assoc/tlb/4k/ways/sets:" + std::to_string(sets) + "/pages_per_set:" + std::to_string(k);
  c.params = {{"role", "tlb_ways"}, {"page", "4k"}, {"sets_probed", sets}, {"pages_per_set", k}, {"stride_pages", 512}};
  c.metrics = {{"ns_per_load", cycles / 3}, {"cycles_per_load", cycles}};
  c.spread = {3, cycles / 3, cycles / 3, cycles / 3};
  return c;
}

// The hidden L2 of the test above, with the ways probe: a rise past 12 pages
// per set at 4 and at 8 sets is 12 ways (3072 entries: 256 sets).
TEST(AssocTlbTest, TheWaysProbeRisingAtTheSameKPerSetGivesTheWays) {
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2) {
    if (3072 / s > 72) strides.push_back(stride_row(s, 72, 7.0, 3072 / s, 40.0));
    else strides.push_back(stride_row(s, 72, 50.0, std::nullopt, std::nullopt));
  }
  Results r;
  for (const double sets : {4.0, 8.0})
    for (double k = 1; k <= 28; ++k) r.cases.push_back(ways_case(sets, k, k <= 12 ? 11.0 : 60.0));
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].verdict, "set-associative");
  EXPECT_EQ(rows[1].ways, 12);
  EXPECT_EQ(rows[1].sets, 256);
  EXPECT_FALSE(rows[1].sets_lower_bound);
}

// A rise at the same total (192 pages) for 4 and 8 sets is a capacity the
// pages share, not a set's ways: no ways figure, and the evidence says why.
TEST(AssocTlbTest, TheWaysProbeRisingAtTheSameTotalIsNoWaysFigure) {
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2) {
    if (4096 / s > 96) strides.push_back(stride_row(s, 96, 7.0, 4096 / s, 40.0));
    else strides.push_back(stride_row(s, 96, 50.0, std::nullopt, std::nullopt));
  }
  Results r;
  for (const double sets : {4.0, 8.0})
    for (double k = 1; k <= 56; ++k) r.cases.push_back(ways_case(sets, k, sets * k <= 192 ? 11.0 : 60.0));
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].verdict, "set-indexed");
  EXPECT_FALSE(rows[1].ways.has_value());
  EXPECT_NE(rows[1].evidence.find("same total"), std::string::npos) << rows[1].evidence;
}

// memprobe fleet: one node of eight whose L1 shows half the ways (cache
// partitioning left on) is an outlier by its ways.
TEST(AssocFleetTest, ANodeWithFewerWaysIsAnOutlier) {
  std::vector<FleetInput> inputs;
  for (int node = 0; node < 8; ++node) {
    Results r;
    r.machine.cpu_model = "Test CPU";
    r.machine.logical_cpus = 2;
    const int ways = node == 5 ? 6 : 12;
    for (const double stride : {2048.0, 4096.0, 8192.0}) add_curve(r, "L1", stride, 4096, ways, 28, 1.1, 4.2, 12);
    derive_assoc(r);
    inputs.push_back({"node" + std::to_string(node) + ".json", r});
  }
  const Fleet fleet = analyze_fleet(inputs);
  ASSERT_EQ(fleet.groups.size(), 1u);
  std::vector<std::string> flagged;
  for (const FleetRun& run : fleet.groups[0].runs)
    if (!run.flags.empty()) flagged.push_back(run.file);
  EXPECT_EQ(flagged, std::vector<std::string>{"node5.json"}) << render_fleet(fleet);
  EXPECT_NE(render_fleet(fleet).find("L1 ways"), std::string::npos);
}

// On a loaded machine knees at wide strides land anywhere: a second rise at
// 181 pages at every stride from 64 on (products up to 92672) neither moves
// the entries (4096, from the strides whose products agree) nor the sets'
// lower bound.
TEST(AssocTlbTest, StridesWhoseReachTimesStrideDisagreeDoNotMoveTheEntries) {
  std::vector<AssocTlbStrideRow> strides;
  for (double s = 2; s <= 512; s *= 2) strides.push_back(stride_row(s, 96, 7.0, s <= 32 ? 4096 / s : 181.0, 40.0));
  const std::vector<AssocTlbRow> rows = derive_assoc_tlb_rows(strides, Results{});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].entries, 4096);
  EXPECT_EQ(rows[1].verdict, "set-indexed") << "a reach that grows again is no plateau of ways";
  EXPECT_EQ(rows[1].sets, 32) << rows[1].evidence;
  EXPECT_TRUE(rows[1].sets_lower_bound);
}

TEST(AssocDeriveTest, RowsRoundTripThroughTheDerivedSectionAndLeaveWithTheCases) {
  Results r;
  for (const double stride : {2048.0, 4096.0, 8192.0}) add_curve(r, "L1", stride, 4096, 12, 28, 1.1, 4.2, 12);
  derive_assoc(r);
  const std::vector<AssocCacheRow> rows = assoc_cache_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ways, 12);
  EXPECT_NE(render_assoc_tables(r).find("12-way"), std::string::npos);
  r.cases.clear();
  derive_assoc(r);
  EXPECT_TRUE(assoc_cache_rows(r).empty());
  EXPECT_EQ(render_assoc_tables(r), "");
}

}  // namespace
}  // namespace memprobe::analysis
