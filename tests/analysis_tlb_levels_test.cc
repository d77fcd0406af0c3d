// The DTLB level rule (tlb_levels): each level is the first lasting rise past
// the previous level, at least as high as that level's miss cost, its height
// read one octave on; later rises are walk-cost steps. Synthetic curves with
// the shapes seen on real machines: a late large step after the real L2 knee
// (page-table lines leaving the caches), a gradual rise whose walk keeps
// getting dearer, a creep below the knee, and huge-page L1 misses that are
// already walks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "analysis/families/tlb.h"

namespace memprobe::analysis {
namespace {

// 4 points per octave from 8 pages to max_pages.
std::vector<double> quarter_octave_grid(double max_pages) {
  std::vector<double> pages;
  for (int k = 0;; ++k) {
    const double n = std::round(8 * std::pow(2.0, k / 4.0));
    if (n > max_pages) break;
    pages.push_back(n);
  }
  return pages;
}

// delta(N) = f(N) over a reference of 4 cycles (an L1 hit), spreads `spread`.
std::vector<TlbPoint> curve_of(const std::function<double(double)>& delta, double max_pages, double spread = 0.5) {
  std::vector<TlbPoint> curve;
  for (double n : quarter_octave_grid(max_pages)) curve.push_back({n, 4 + delta(n), 4, spread});
  return curve;
}

// Within one grid step (a quarter octave) of `truth`.
void expect_near_grid(double detected, double truth) {
  EXPECT_LE(std::abs(std::log2(detected / truth)), 0.25 + 1e-3) << detected << " vs " << truth;
}

// L1 at 64 entries (7-cycle L2 hits), L2 at 2048 (40-cycle walks), then at
// 16384 pages the walk's page-table lines leave the cache: +900 cycles.
double late_walk_step(double n) { return n <= 64 ? 0 : n <= 2048 ? 7 : n <= 16384 ? 40 : 940; }

TEST(TlbLevelRuleTest, ALateLargeStepAfterTheL2KneeIsAWalkCostStepNotTheL2) {
  const std::vector<TlbPoint> curve = curve_of(late_walk_step, 65536);
  const std::vector<TlbLevelStep> levels = tlb_levels(curve);
  ASSERT_EQ(levels.size(), 2u);
  expect_near_grid(levels[0].knee_pages, 64);
  expect_near_grid(levels[1].knee_pages, 2048);
  EXPECT_NEAR(levels[1].height_cycles(), 33, 1) << "walk - L2 hit, not the late step";
  const std::vector<TlbStep> walk = tlb_walk_cost_steps(curve, levels);
  ASSERT_EQ(walk.size(), 1u);
  expect_near_grid(walk[0].knee_pages, 16384);
}

TEST(TlbLevelRuleTest, TheL2FigureDoesNotDependOnHowFarTheSweepWent) {
  // The sweep ends before the late step, just past it, and far past it.
  std::vector<double> l2;
  for (double max_pages : {8192.0, 20000.0, 65536.0, 262144.0}) {
    const std::vector<TlbLevelStep> levels = tlb_levels(curve_of(late_walk_step, max_pages));
    ASSERT_EQ(levels.size(), 2u) << max_pages;
    l2.push_back(levels[1].knee_pages);
  }
  for (double knee : l2) EXPECT_EQ(knee, l2.front());
}

TEST(TlbLevelRuleTest, AGradualRiseWhoseWalkKeepsGettingDearerIsReadAtItsFirstOctave) {
  // The shape of a Zen 4 guest's curve: L2 hits at 8 cycles to 3072 pages,
  // then walks whose cost keeps growing with N as page-table lines leave L1
  // and L2 (no flat walk plateau for two octaves).
  auto zen4_like = [](double n) {
    if (n <= 72) return 0.0;
    if (n <= 3072) return 8.0;
    return 8.0 + 45 * std::log2(n / 3072) + 20;
  };
  const std::vector<TlbLevelStep> levels = tlb_levels(curve_of(zen4_like, 16384));
  ASSERT_EQ(levels.size(), 2u);
  expect_near_grid(levels[0].knee_pages, 72);
  expect_near_grid(levels[1].knee_pages, 3072);
}

TEST(TlbLevelRuleTest, AWalkGettingDearerInsideTheRiseDoesNotMoveTheKneePastTheEntries) {
  // The shape of a Zen 5 guest's curve: L2 hits at 8 cycles to 4096 pages,
  // then misses with random-like replacement (a quarter of the loads at
  // 1.19x the entries, half at 1.41x), and from 6144 pages (48 KiB of 8-byte
  // page-table entries: the L1 data cache) the walk itself doubles.
  auto zen5_like = [](double n) {
    if (n <= 96) return 0.0;
    if (n <= 4096) return 8.0;
    const double missing = std::min(1.0, 1.5 * (1 - 4096 / n) + 0.02);
    const double walk = n < 6144 ? 110.0 : 110.0 * (1 + std::log2(n / 6144));
    return 8.0 + missing * walk;
  };
  const std::vector<TlbPoint> curve = curve_of(zen5_like, 32768);
  const std::vector<TlbLevelStep> octave_height = tlb_levels(curve);
  ASSERT_EQ(octave_height.size(), 2u);
  EXPECT_GT(octave_height[1].knee_pages, 4096 * std::pow(2.0, 0.25) * 1.01)
      << "half the octave's height lies past a grid step (the rule without the L1 limit)";
  const std::vector<TlbLevelStep> levels = tlb_levels(curve, {}, std::nullopt, 2, 6144.0);
  ASSERT_EQ(levels.size(), 2u);
  expect_near_grid(levels[0].knee_pages, 96);
  expect_near_grid(levels[1].knee_pages, 4096);
  EXPECT_LT(levels[1].knee_top_cycles, levels[1].top_cycles);
  EXPECT_EQ(levels[1].top_cycles, octave_height[1].top_cycles) << "the miss cost is still read an octave on";
  // A limit inside the first grid step past the plateau, or past its octave,
  // changes nothing.
  for (const double limit : {4200.0, 9000.0})
    EXPECT_EQ(tlb_levels(curve, {}, std::nullopt, 2, limit)[1].knee_pages, octave_height[1].knee_pages) << limit;
}

TEST(TlbLevelRuleTest, ACreepBelowTheKneeSmallerThanTheL1MissCostIsNotTheL2) {
  // The shape of an Intel guest's curve: L2 hits at 7.5 cycles, a creep of a
  // few cycles from 512 pages (partial STLB misses), the real rise at 2048.
  auto creep = [](double n) {
    if (n <= 96) return 0.0;
    if (n <= 512) return 7.5;
    if (n <= 1448) return 7.5 + 3 * std::log2(n / 512);
    if (n <= 2435) return 60 * std::log2(n / 1448) / std::log2(2435.0 / 1448) + 12;
    return 72.0;
  };
  const std::vector<TlbLevelStep> levels = tlb_levels(curve_of(creep, 16384));
  ASSERT_EQ(levels.size(), 2u);
  expect_near_grid(levels[0].knee_pages, 96);
  expect_near_grid(levels[1].knee_pages, 2048);
}

TEST(TlbLevelRuleTest, OneLowPointAfterTheRiseDoesNotEndIt) {
  std::vector<TlbPoint> curve = curve_of(late_walk_step, 8192);
  for (TlbPoint& p : curve)
    if (p.pages == 4096) p.tlb_cycles = p.ref_cycles + 3;  // a reference repetition pulled delta down
  const std::vector<TlbLevelStep> levels = tlb_levels(curve);
  ASSERT_EQ(levels.size(), 2u);
  expect_near_grid(levels[1].knee_pages, 2048);
}

TEST(TlbLevelRuleTest, HugePageL1MissesThatCostWalksLeaveNoL2Level) {
  // A guest's THP curve: L1 misses at 72 pages cost 60 cycles (walks), then
  // the walk slowly gets dearer. Against 4k pages' 7-cycle L1 miss.
  auto walks = [](double n) { return n <= 72 ? 0.0 : n <= 256 ? 60.0 : 60 + 12 * std::log2(n / 256); };
  const std::vector<TlbPoint> curve = curve_of(walks, 512);
  EXPECT_EQ(tlb_levels(curve, {}, 14.0).size(), 1u) << "the L2 is not searched";
  const std::vector<TlbLevelStep> levels = tlb_levels(curve, {}, 14.0);
  ASSERT_FALSE(levels.empty());
  expect_near_grid(levels[0].knee_pages, 72);
}

TEST(TlbLevelRuleTest, AFlatCurveHasNoLevel) {
  EXPECT_TRUE(tlb_levels(curve_of([](double) { return 0.2; }, 16384)).empty());
}

TEST(TlbLevelRuleTest, ARiseNoHigherThanTheL1MissCostIsNotALevel) {
  // After 7-cycle L2 hits, a lasting +4 cycles (less than one L2 hit) is a
  // drift of the data path, not a walk.
  auto small = [](double n) { return n <= 64 ? 0.0 : n <= 1024 ? 7.0 : 11.0; };
  const std::vector<TlbLevelStep> levels = tlb_levels(curve_of(small, 16384));
  EXPECT_EQ(levels.size(), 1u);
}

TEST(TlbLevelRuleTest, WalkStepsAreKeptAndRenderedAsWalkStepsNotLevels) {
  Results results;
  results.machine.core_hz = 3e9;
  results.machine.tlb = {{1, 4096, 64.0}, {2, 4096, 2048.0}};
  CacheLevelRow l1;
  l1.level = "L1";
  l1.detected_bytes = 32 * 1024;
  results.derived.cache_levels = {l1};
  for (const TlbPoint& p : curve_of(late_walk_step, 65536)) {
    const auto pages = static_cast<std::uint64_t>(p.pages);
    Case c;
    c.family = "tlb";
    c.name = "tlb/4k/pages:" + std::to_string(pages);
    c.params = {{"role", "tlb"}, {"page", "4k"}, {"pages", pages}};
    c.metrics = {{"cycles_per_load", p.tlb_cycles}};
    Case r = c;
    r.name = "tlb/reference/pages:" + std::to_string(pages);
    r.params = {{"role", "reference"}, {"page", "thp"}, {"pages", pages}};
    r.metrics = {{"cycles_per_load", p.ref_cycles}};
    results.cases.push_back(c);
    results.cases.push_back(r);
  }
  derive_tlb(results);
  const std::vector<TlbLevelRow> rows = tlb_rows(results);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(rows[1].detected_entries);
  expect_near_grid(*rows[1].detected_entries, 2048);
  const std::vector<TlbWalkStepRow> walk = tlb_walk_step_rows(results);
  ASSERT_EQ(walk.size(), 1u);
  expect_near_grid(walk[0].pages, 16384);
  EXPECT_DOUBLE_EQ(walk[0].page_table_bytes, walk[0].pages * 8);
  EXPECT_EQ(walk[0].past_cache, "L1") << "16384 x 8 B of entries outgrew the 32 KiB L1";
  const std::string table = render_tlb_table(results);
  EXPECT_NE(table.find("walk step"), std::string::npos) << table;
  EXPECT_NE(table.find("not a TLB level"), std::string::npos) << table;
}

}  // namespace
}  // namespace memprobe::analysis
