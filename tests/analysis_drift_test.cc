// The drift family: each level's figure re-measured at the end of the run,
// the change against the sweep, and compare's use of it as noise.
#include <gtest/gtest.h>

#include <string>

#include "analysis/compare.h"
#include "analysis/derived.h"
#include "analysis/families/drift.h"
#include "analysis/families/latency.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * kKiB;

Verdict find_if_figure(const Comparison& c, const std::string& figure) {
  for (const FigureComparison& f : c.figures)
    if (f.figure == figure) return f.verdict;
  ADD_FAILURE() << "no figure " << figure;
  return Verdict::kNotComparable;
}

Case drift_case(const std::string& page, const std::string& level, double working_set_bytes, double ns) {
  Case c;
  c.family = "drift";
  c.name = "drift/" + page + "/" + level;
  c.params = {{"page", page}, {"level", level}, {"working_set_bytes", working_set_bytes}, {"stride_bytes", 64}};
  c.metrics = {{"ns_per_load", ns}};
  c.spread = {5, ns * 0.995, ns, ns * 1.005};
  return c;
}

// A run whose cache table says L1 1.4 ns and DRAM 120 ns on the 4k curve.
Results run_with_levels() {
  Results r;
  r.derived.cache_levels = {{"L1", 48 * kKiB, 45 * kKiB, 1.4, 5.0, 1.0, "", 32 * kKiB},
                            {"DRAM", std::nullopt, std::nullopt, 120.0, 430.0, 1.0, "", 32 * kMiB}};
  r.derived.extra["latency_curve_page"] = "4k";
  return r;
}

TEST(DriftTest, ChangeIsTheEndOfRunFigureAgainstTheCacheTables) {
  Results r = run_with_levels();
  // Listed out of level order: the table follows the cache table's order.
  r.cases = {drift_case("4k", "DRAM", 32 * kMiB, 126.0), drift_case("4k", "L1", 32 * kKiB, 1.4)};
  derive_drift(r);
  const std::vector<DriftRow> rows = drift_rows(r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].level, "L1");
  EXPECT_EQ(rows[1].level, "DRAM");
  ASSERT_TRUE(rows[1].sweep_ns && rows[1].change_pct);
  EXPECT_DOUBLE_EQ(*rows[1].sweep_ns, 120.0);
  EXPECT_DOUBLE_EQ(rows[1].end_ns, 126.0);
  EXPECT_NEAR(*rows[1].change_pct, 5.0, 1e-9);
  EXPECT_NEAR(*rows[0].change_pct, 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(rows[1].working_set_bytes, 32 * kMiB);
  ASSERT_TRUE(level_drift_pct(r, "DRAM"));
  EXPECT_NEAR(*level_drift_pct(r, "DRAM"), 5.0, 1e-9);
  EXPECT_FALSE(level_drift_pct(r, "L3")) << "no row: no drift";

  ASSERT_TRUE(rows[1].end_spread_pct);
  EXPECT_NEAR(*rows[1].end_spread_pct, 1.0, 1e-9);  // repetitions at ±0.5 %
  const std::string table = render_drift_table(r);
  EXPECT_NE(table.find("Largest change: DRAM +5.0 %"), std::string::npos) << table;
  EXPECT_EQ(table.find("!: "), std::string::npos) << "tight repetitions: nothing marked";

  // End-of-run repetitions that disagree by more than 10 % are marked and said.
  Results moving = r;
  moving.cases[0].spread = {5, 110.0, 126.0, 140.0};
  derive_drift(moving);
  const std::string marked = render_drift_table(moving);
  EXPECT_NE(marked.find("!: DRAM: the end-of-run repetitions themselves disagreed"), std::string::npos) << marked;

  derive_drift(r);
  EXPECT_EQ(drift_rows(r).size(), 2u) << "idempotent";
  r.cases.clear();
  derive_drift(r);
  EXPECT_FALSE(r.derived.extra.contains("drift")) << "no drift cases, no table";
}

TEST(DriftTest, AFigureFromAnotherPagesCurveIsNotAChange) {
  Results r = run_with_levels();
  r.cases = {drift_case("thp", "DRAM", 32 * kMiB, 100.0)};
  derive_drift(r);
  const std::vector<DriftRow> rows = drift_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].sweep_ns);
  EXPECT_FALSE(rows[0].change_pct);
  EXPECT_FALSE(level_drift_pct(r, "DRAM"));
}

// One run per side: a 4 % DRAM difference with tight plateaus is "slower";
// when either run's DRAM moved 5 % within itself, that difference is noise.
TEST(DriftTest, CompareCountsALevelsDriftAsItsNoise) {
  Results a = run_with_levels();
  Results b = a;
  b.derived.cache_levels[1].latency_ns = 124.8;
  EXPECT_EQ(find_if_figure(compare_results(a, b), "cache DRAM latency_ns"), Verdict::kSlower);
  a.cases = {drift_case("4k", "DRAM", 32 * kMiB, 126.0)};
  derive_drift(a);
  EXPECT_EQ(find_if_figure(compare_results(a, b), "cache DRAM latency_ns"), Verdict::kWithinNoise);
  EXPECT_EQ(find_if_figure(compare_results(b, a), "cache DRAM latency_ns"), Verdict::kWithinNoise);
  const Comparison said = compare_results(a, b);
  ASSERT_EQ(said.side_a.drift_pct.size(), 1u);
  EXPECT_EQ(said.side_a.drift_pct[0].first, "DRAM");
  EXPECT_NEAR(said.side_a.drift_pct[0].second, 5.0, 1e-9);
  EXPECT_TRUE(said.side_b.drift_pct.empty());
  EXPECT_NE(render_comparison(said).find("A: its levels moved within the run (drift, largest of its runs): DRAM 5.0 %"),
            std::string::npos)
      << render_comparison(said);
  // The L1 did not drift: its noise is still its spread.
  b.derived.cache_levels[0].latency_ns = 1.5;
  EXPECT_EQ(find_if_figure(compare_results(a, b), "cache L1 latency_ns"), Verdict::kSlower);

  // Drift describes each run's noise, not the machine: its own cases and
  // rows are never matched (a gate must not fail on how much a host moved).
  b.cases = {drift_case("4k", "DRAM", 32 * kMiB, 150.0)};
  derive_drift(b);
  const Comparison c = compare_results(a, b);
  for (const CaseComparison& x : c.cases) EXPECT_NE(x.name.rfind("drift/", 0), 0u) << x.name;
  for (const FigureComparison& f : c.figures) EXPECT_NE(f.table, "drift") << f.figure;
}

}  // namespace
}  // namespace memprobe::analysis
