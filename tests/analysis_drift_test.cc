// The drift family: each level's figure re-measured at the end of the run,
// the change against the sweep, and compare's use of it as noise; each knee
// re-checked below and above, whether it held, and compare's use of that.
#include <gtest/gtest.h>

#include <cmath>
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

// ---- knee drift -------------------------------------------------------------

const FigureComparison* find_figure(const Comparison& c, const std::string& figure) {
  for (const FigureComparison& f : c.figures)
    if (f.figure == figure) return &f;
  ADD_FAILURE() << "no figure " << figure;
  return nullptr;
}

Case knee_case(const std::string& level, const std::string& side, double knee_bytes, double working_set_bytes,
               double ns, const std::string& page = "4k") {
  Case c = drift_case(page, level, working_set_bytes, ns);
  c.name += "/knee-" + side;
  c.params["knee_check"] = side;
  c.params["knee_bytes"] = knee_bytes;
  return c;
}

// A cache table on the 4k curve: L2 4 ns with a knee at 1 MiB, L3 16 ns with
// a knee at 8 MiB, DRAM 100 ns; L3's step midpoint is sqrt(16 * 100) = 40 ns.
Results run_with_knees() {
  Results r;
  r.derived.cache_levels = {{"L2", 1 * kMiB, 1 * kMiB, 4.0, 14.0, 1.0, "", 512 * kKiB},
                            {"L3", 32 * kMiB, 8 * kMiB, 16.0, 56.0, 1.0, "", 4 * kMiB},
                            {"DRAM", std::nullopt, std::nullopt, 100.0, 350.0, 1.0, "", 64 * kMiB}};
  r.derived.extra["latency_curve_page"] = "4k";
  return r;
}

// The L3 knee checked at 8 MiB / 2^(1/2) and 8 MiB * 2^(1/2).
Results run_with_l3_check(double below_ns, double above_ns) {
  Results r = run_with_knees();
  r.cases = {drift_case("4k", "L3", 4 * kMiB, 16.2),
             knee_case("L3", "above", 8 * kMiB, 8 * kMiB * std::sqrt(2.0), above_ns),
             knee_case("L3", "below", 8 * kMiB, 8 * kMiB / std::sqrt(2.0), below_ns)};
  derive_drift(r);
  return r;
}

TEST(KneeDriftTest, AKneeHoldsWhenBelowReadsThisLevelAndAboveTheNext) {
  const Results r = run_with_l3_check(16.5, 95.0);
  const std::vector<KneeDriftRow> rows = knee_drift_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  const KneeDriftRow& row = rows[0];
  EXPECT_EQ(row.level, "L3");
  EXPECT_EQ(row.next_level, "DRAM");
  EXPECT_EQ(row.page, "4k");
  EXPECT_DOUBLE_EQ(row.sweep_knee_bytes, 8 * kMiB);
  ASSERT_TRUE(row.level_ns && row.next_level_ns && row.midpoint_ns);
  EXPECT_DOUBLE_EQ(*row.level_ns, 16.0);
  EXPECT_DOUBLE_EQ(*row.next_level_ns, 100.0);
  EXPECT_NEAR(*row.midpoint_ns, 40.0, 1e-9);
  ASSERT_TRUE(row.below_bytes && row.below_ns && row.above_bytes && row.above_ns);
  EXPECT_DOUBLE_EQ(*row.below_bytes, 8 * kMiB / std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(*row.below_ns, 16.5);
  EXPECT_DOUBLE_EQ(*row.above_ns, 95.0);
  ASSERT_TRUE(row.below_spread_pct && row.above_spread_pct);
  EXPECT_NEAR(*row.above_spread_pct, 1.0, 1e-9);  // repetitions at ±0.5 %
  EXPECT_EQ(row.status, "held");
  EXPECT_FALSE(level_knee_moved(r, "L3"));

  // The knee checks are no latency drift rows; the level's own drift case is.
  const std::vector<DriftRow> drift = drift_rows(r);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_DOUBLE_EQ(drift[0].working_set_bytes, 4 * kMiB);

  // Stored as JSON and read back: the same row.
  const nlohmann::json& stored = r.derived.extra.at("knee_drift");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].at("status"), "held");
  EXPECT_EQ(stored[0].at("sweep_knee_bytes").get<double>(), 8 * kMiB);
  EXPECT_NEAR(stored[0].at("midpoint_ns").get<double>(), 40.0, 1e-9);

  const std::string table = render_drift_table(r);
  EXPECT_NE(table.find("held at 8 MiB"), std::string::npos) << table;
  EXPECT_EQ(table.find("knee moved"), std::string::npos) << table;
  EXPECT_EQ(table.find("!: "), std::string::npos) << "tight repetitions: nothing marked";
  for (const TableFormat format : {TableFormat::kMarkdown, TableFormat::kCsv})
    EXPECT_NE(render_drift_table(r, format).find("held at 8 MiB"), std::string::npos) << render_drift_table(r, format);

  // A check whose repetitions disagree by more than 10 % is marked and said.
  Results moving = r;
  moving.cases[1].spread = {5, 80.0, 95.0, 110.0};
  derive_drift(moving);
  const std::string marked = render_drift_table(moving);
  EXPECT_NE(marked.find("!: L3 above: the end-of-run repetitions themselves disagreed"), std::string::npos) << marked;

  Results again = r;
  derive_drift(again);
  EXPECT_EQ(again.derived.extra.at("knee_drift"), stored) << "idempotent";
  again.cases.clear();
  derive_drift(again);
  EXPECT_FALSE(again.derived.extra.contains("knee_drift")) << "no knee cases, no table";
}

// The one L3 row says the move: its status, the sentence (which the drift
// table prints and compare quotes) and the table's knee cell.
void expect_l3_knee_moved(const Results& r, const std::string& status, const std::string& sentence,
                          const std::string& cell) {
  const std::vector<KneeDriftRow> rows = knee_drift_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, status);
  const auto how = level_knee_moved(r, "L3");
  ASSERT_TRUE(how);
  EXPECT_NE(how->find(sentence), std::string::npos) << *how;
  EXPECT_NE(how->find("L3/DRAM midpoint 40.0 ns"), std::string::npos) << *how;
  EXPECT_FALSE(level_knee_moved(r, "L2")) << "no check of L2";
  const std::string table = render_drift_table(r);
  EXPECT_NE(table.find(cell), std::string::npos) << table;
  EXPECT_NE(table.find(*how), std::string::npos) << table;
}

// Below the knee reading past the midpoint: the level now ends below the
// point below.
TEST(KneeDriftTest, AKneeMovedDownWhenBelowReadsPastTheMidpoint) {
  expect_l3_knee_moved(run_with_l3_check(60.0, 98.0), "moved down",
                       "L3 knee moved: 8 MiB at the sweep, below 5.66 MiB at the end", "moved: below 5.66 MiB");
}

// Above the knee still reading this level: the level reaches past the point
// above.
TEST(KneeDriftTest, AKneeMovedUpWhenAboveStillReadsThisLevel) {
  expect_l3_knee_moved(run_with_l3_check(16.1, 22.0), "moved up",
                       "L3 knee moved: 8 MiB at the sweep, above 11.31 MiB at the end", "moved: above 11.31 MiB");
}

TEST(KneeDriftTest, StatusRule) {
  // At the midpoint is this level's side, as in the sweep's knee rule.
  EXPECT_EQ(knee_status(40.0, 40.5, 40.0), "held");
  EXPECT_EQ(knee_status(41.0, 90.0, 40.0), "moved down");
  EXPECT_EQ(knee_status(20.0, 40.0, 40.0), "moved up");
  EXPECT_EQ(knee_status(60.0, 30.0, 40.0), "unclear");
  // One side missing: a move it shows is said, else nothing is decided.
  EXPECT_EQ(knee_status(std::nullopt, 90.0, 40.0), "not decided");
  EXPECT_EQ(knee_status(std::nullopt, 30.0, 40.0), "moved up");
  EXPECT_EQ(knee_status(50.0, std::nullopt, 40.0), "moved down");
  EXPECT_EQ(knee_status(20.0, 90.0, std::nullopt), "not decided");
}

// Cases on another page's curve than the cache table's: no midpoint to judge by.
TEST(KneeDriftTest, AnotherPagesCurveIsNotDecided) {
  Results r = run_with_knees();
  r.cases = {knee_case("L2", "below", 1 * kMiB, 724 * kKiB, 4.1, "thp"),
             knee_case("L2", "above", 1 * kMiB, 1448 * kKiB, 15.0, "thp")};
  derive_drift(r);
  const std::vector<KneeDriftRow> rows = knee_drift_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].next_level, "L3");
  EXPECT_FALSE(rows[0].midpoint_ns);
  EXPECT_EQ(rows[0].status, "not decided");
  EXPECT_FALSE(level_knee_moved(r, "L2"));
  EXPECT_NE(render_drift_table(r).find("L2 knee at 1 MiB not decided"), std::string::npos) << render_drift_table(r);
}

// L3 detected at 8 MiB in A and 16 MiB in B (a whole octave: "larger"). When
// A's knee check says its L3 knee moved within the run, that difference is
// noise, and compare says why; a knee that held leaves the verdict.
TEST(KneeDriftTest, CompareCountsASizeDifferenceAsNoiseWhereAKneeMoved) {
  Results b = run_with_knees();
  b.derived.cache_levels[1].detected_bytes = 16 * kMiB;

  const Results held = run_with_l3_check(16.5, 95.0);
  // Each comparison is kept while a figure of it is read (find_figure points into it).
  const Comparison held_c = compare_results(held, b);
  const FigureComparison* size = find_figure(held_c, "cache L3 detected_bytes");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->verdict, Verdict::kLarger);
  EXPECT_TRUE(size->note.empty()) << size->note;

  const Results moved = run_with_l3_check(60.0, 98.0);
  const Comparison c = compare_results(moved, b);
  size = find_figure(c, "cache L3 detected_bytes");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->verdict, Verdict::kWithinNoise);
  EXPECT_EQ(size->note, "knee moved within run A");
  ASSERT_EQ(c.side_a.knee_moved.size(), 1u);
  EXPECT_EQ(c.side_a.knee_moved[0].first, "L3");
  EXPECT_TRUE(c.side_b.knee_moved.empty());
  const std::string text = render_comparison(c);
  EXPECT_NE(text.find("within noise: knee moved within run A"), std::string::npos) << text;
  EXPECT_NE(text.find("A: within the run, L3 knee moved: 8 MiB at the sweep, below 5.66 MiB at the end"),
            std::string::npos)
      << text;

  // Either side's move counts; only the level whose knee moved is affected.
  const Comparison reversed = compare_results(b, moved);
  size = find_figure(reversed, "cache L3 detected_bytes");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->verdict, Verdict::kWithinNoise);
  EXPECT_EQ(size->note, "knee moved within run B");
  Results b2 = b;
  b2.derived.cache_levels[0].detected_bytes = 2 * kMiB;
  const Comparison l2_c = compare_results(moved, b2);
  size = find_figure(l2_c, "cache L2 detected_bytes");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->verdict, Verdict::kLarger) << "L2's knee was not re-checked";
}

}  // namespace
}  // namespace memprobe::analysis
