// The c2c family's analysis (analysis/families/c2c.h) from synthetic cases:
// derived rows, the matrix, the per-group line, sampling note, plot, compare.
#include "analysis/families/c2c.h"

#include <gtest/gtest.h>

#include <string>

#include "analysis/compare.h"
#include "analysis/derived.h"
#include "analysis/family.h"
#include "analysis/family_support.h"
#include "analysis/plots.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"

namespace memprobe::analysis {
namespace {

Case c2c_case(int a, int b, const char* shares, double ns, double group_pairs, double total) {
  Case c;
  c.family = "c2c";
  c.name = "c2c/cpu:" + std::to_string(a) + "/cpu:" + std::to_string(b);
  c.params = {{"a_cpu", a},        {"b_cpu", b},           {"shares", shares},      {"numa", "same"},
              {"group_pairs", group_pairs}, {"pairs_measured", 0}, {"pairs_total", total}};
  c.metrics = {{"one_way_ns", ns}, {"round_trip_ns", 2 * ns}};
  c.spread = {5, ns * 0.99, ns, ns * 1.01, false};
  return c;
}

// 4 CPUs: 0,1 SMT siblings; 2,3 SMT siblings; the two cores share an L3.
Results four_cpus(double scale = 1) {
  Results r;
  r.machine.logical_cpus = 4;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) {
      if (a == b) continue;
      const bool smt = a / 2 == b / 2;
      r.cases.push_back(c2c_case(a, b, smt ? "smt" : "l3", scale * (smt ? 10.0 + a : 40.0 + a + b), smt ? 4 : 8, 12));
    }
  derive_all(r);
  return r;
}

TEST(C2cAnalysisTest, DerivesOneRowPerOrderedPairAndGroups) {
  const Results r = four_cpus();
  const std::vector<C2cRow> rows = c2c_rows(r);
  ASSERT_EQ(rows.size(), 12u);
  EXPECT_EQ(rows[0].a_cpu, 0);
  EXPECT_EQ(rows[0].b_cpu, 1);
  EXPECT_EQ(rows[0].shares, "same core (SMT)");
  EXPECT_DOUBLE_EQ(rows[0].one_way_ns, 10.0);
  EXPECT_EQ(rows[0].numa_node, "same node");
  for (const C2cRow& row : rows) EXPECT_NE(row.a_cpu, row.b_cpu);
  const std::vector<C2cGroupRow> groups = c2c_group_rows(r);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].shares, "same core (SMT)");  // closest first
  EXPECT_EQ(groups[0].pairs_measured, 4);
  EXPECT_EQ(groups[1].shares, "same L3");
  EXPECT_EQ(groups[1].pairs_measured, 8);
  // SMT: 10, 11, 12, 13 -> median 11.5.
  EXPECT_DOUBLE_EQ(groups[0].one_way_ns, 11.5);
  EXPECT_EQ(c2c_group_line(r), "same core (SMT) 11.5 ns, same L3 43.0 ns");
}

TEST(C2cAnalysisTest, DeriveIsIdempotentAndRemovedWithoutCases) {
  Results r = four_cpus();
  const nlohmann::json once = r.derived.extra;
  derive_c2c(r);
  EXPECT_EQ(r.derived.extra, once);
  r.cases.clear();
  derive_c2c(r);
  EXPECT_FALSE(r.derived.extra.contains("c2c"));
  EXPECT_FALSE(r.derived.extra.contains("c2c_groups"));
  EXPECT_EQ(render_c2c_table(r), "");
}

TEST(C2cAnalysisTest, RendersAMatrixFromToWithDashesOnTheDiagonal) {
  const Results r = four_cpus();
  const std::string table = render_c2c_table(r);
  EXPECT_NE(table.find("from \\ to"), std::string::npos) << table;
  EXPECT_NE(table.find("cpu 3"), std::string::npos) << table;
  // Row cpu 0: —, 10.0, 42.0, 43.0.
  EXPECT_NE(table.find("cpu 0"), std::string::npos);
  const auto row0 = table.find("\ncpu 0 ");
  ASSERT_NE(row0, std::string::npos) << table;
  const std::string line = table.substr(row0 + 1, table.find('\n', row0 + 1) - row0 - 1);
  EXPECT_NE(line.find("—"), std::string::npos) << line;
  EXPECT_LT(line.find("10.0"), line.find("42.0")) << line;
  EXPECT_LT(line.find("42.0"), line.find("43.0")) << line;
  EXPECT_NE(table.find("c2c by what the pair shares: same core (SMT) 11.5 ns, same L3 43.0 ns"), std::string::npos)
      << table;
  EXPECT_EQ(table.find("Sampled"), std::string::npos) << "every pair was measured";
  // CSV has the same matrix, one line per from-CPU.
  const std::string csv = render_c2c_table(r, TableFormat::kCsv);
  EXPECT_NE(csv.find("from \\ to,cpu 0,cpu 1,cpu 2,cpu 3"), std::string::npos) << csv;
  // The report and the summary carry it too.
  EXPECT_NE(render_sections(r).find("from \\ to"), std::string::npos);
  EXPECT_NE(render_summary(r).find("same core (SMT) 11.5 ns"), std::string::npos) << render_summary(r);
}

TEST(C2cAnalysisTest, SaysWhatWasSampled) {
  Results r;
  r.machine.logical_cpus = 128;
  r.cases = {c2c_case(0, 1, "smt", 10, 128, 16256), c2c_case(0, 64, "other_socket", 150, 8192, 16256)};
  derive_all(r);
  const std::string table = render_c2c_table(r);
  EXPECT_NE(table.find("Sampled: 2 of 8320 ordered pairs measured"), std::string::npos) << table;
  EXPECT_NE(table.find("1 of 8192"), std::string::npos) << table;
  EXPECT_NE(table.find("other socket 150.0 ns"), std::string::npos) << table;
}

TEST(C2cAnalysisTest, UnavailableWithItsReason) {
  Results r;
  r.machine.logical_cpus = 1;
  r.unavailable.push_back({"c2c/pairs", "needs two CPUs: this process may run only on CPU 0"});
  derive_all(r);
  const std::string table = render_c2c_table(r);
  EXPECT_NE(table.find("needs two CPUs"), std::string::npos) << table;
}

TEST(C2cAnalysisTest, HeatMapPlot) {
  const std::vector<Plot> plots = c2c_plots(four_cpus());
  ASSERT_EQ(plots.size(), 1u);
  EXPECT_EQ(plots[0].name, "c2c");
  EXPECT_NE(plots[0].script.find("matrix with image"), std::string::npos);
  // Row 0 of the data: NaN on the diagonal, then 0->1, 0->2, 0->3.
  EXPECT_NE(plots[0].script.find("NaN 10.000 42.000 43.000\n"), std::string::npos) << plots[0].script;
  EXPECT_TRUE(c2c_plots(Results{}).empty());
}

TEST(C2cAnalysisTest, ComparedPairByPairBeyondNoiseIsAVerdict) {
  const Comparison c = compare_results(four_cpus(1), four_cpus(2));
  int pair_figures = 0;
  for (const FigureComparison& f : c.figures) {
    if (f.table != "c2c" || f.metric != "one_way_ns") continue;
    ++pair_figures;
    EXPECT_EQ(f.verdict, Verdict::kSlower) << f.figure;
    EXPECT_NE(f.figure.find("cpu "), std::string::npos) << f.figure;
  }
  EXPECT_EQ(pair_figures, 12) << "a_cpu and b_cpu identify the row";
  // Same figures: within noise.
  for (const FigureComparison& f : compare_results(four_cpus(), four_cpus()).figures)
    if (f.table == "c2c" && f.metric == "one_way_ns") {
      EXPECT_EQ(f.verdict, Verdict::kWithinNoise) << f.figure;
    }
  ASSERT_FALSE(c.cases.empty());
  EXPECT_EQ(c.cases[0].metric, "one_way_ns");
}

TEST(C2cAnalysisTest, RoundTripsThroughTheResultsFile) {
  const Results r = four_cpus();
  const Results back = results_from_json(to_json(r));
  EXPECT_EQ(back.derived.extra["c2c"], r.derived.extra["c2c"]);
  EXPECT_EQ(render_c2c_table(back), render_c2c_table(r));
}

}  // namespace
}  // namespace memprobe::analysis
