// analysis/families/numa: the matrix rows from synthetic cases (2x2, 1x1, an
// unavailable pair), the two matrix tables, the summary line, and compare
// matching the rows by their nodes.
#include "analysis/families/numa.h"

#include <gtest/gtest.h>

#include <string>

#include "analysis/compare.h"
#include "analysis/derived.h"
#include "analysis/family_support.h"
#include "analysis/tables.h"

namespace memprobe::analysis {
namespace {

Case numa_case(const std::string& kind, int cpu, int mem, const char* metric, double value, int nodes_with_memory) {
  Case c;
  c.family = "numa";
  c.name = "numa/" + kind + "/cpu_node:" + std::to_string(cpu) + "/mem_node:" + std::to_string(mem);
  c.params = {{"cpu_node", cpu}, {"mem_node", mem}, {"working_set_bytes", 268435456}, {"page", "4k"},
              {"nodes_with_memory", nodes_with_memory}};
  c.metrics = {{metric, value}};
  return c;
}

// 2x2: local 90 ns / 20 GB/s, remote 140 ns / 12 GB/s; pair (1, 0)'s
// bandwidth unavailable.
Results two_by_two(double scale = 1) {
  Results r;
  for (int mem = 0; mem < 2; ++mem)
    for (int cpu = 0; cpu < 2; ++cpu) {
      r.cases.push_back(numa_case("latency", cpu, mem, "ns_per_load", (cpu == mem ? 90 : 140) * scale, 2));
      if (cpu == 1 && mem == 0)
        r.unavailable.push_back({"numa/read_bw/cpu_node:1/mem_node:0",
                                 "memory bound to node 0 is not all there after the first touch: 3/4 pages on node 0"});
      else
        r.cases.push_back(numa_case("read_bw", cpu, mem, "gb_per_s", cpu == mem ? 20 : 12, 2));
    }
  return r;
}

TEST(NumaAnalysisTest, TwoByTwoRowsByCpuThenMemoryNode) {
  Results r = two_by_two();
  derive_numa(r);
  const std::vector<NumaRow> rows = numa_rows(r);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].cpu_node, 0);
  EXPECT_EQ(rows[0].mem_node, 0);
  EXPECT_EQ(rows[1].cpu_node, 0);
  EXPECT_EQ(rows[1].mem_node, 1);
  EXPECT_EQ(rows[0].ns_per_load, 90);
  EXPECT_EQ(rows[1].ns_per_load, 140);
  EXPECT_EQ(rows[1].gb_per_s, 12);
  // (1, 0): latency measured, bandwidth not: no number, never 0.
  EXPECT_EQ(rows[2].cpu_node, 1);
  EXPECT_EQ(rows[2].mem_node, 0);
  EXPECT_EQ(rows[2].ns_per_load, 140);
  EXPECT_FALSE(rows[2].gb_per_s.has_value());
  EXPECT_TRUE(rows[0].note.empty());
  // Idempotent.
  const nlohmann::json once = r.derived.extra["numa"];
  derive_numa(r);
  EXPECT_EQ(r.derived.extra["numa"], once);
}

TEST(NumaAnalysisTest, TwoByTwoMatricesAndSummary) {
  Results r = two_by_two();
  derive_numa(r);
  const std::string text = render_numa_tables(r);
  EXPECT_NE(text.find("NUMA latency matrix"), std::string::npos) << text;
  EXPECT_NE(text.find("NUMA read bandwidth matrix"), std::string::npos) << text;
  EXPECT_NE(text.find("node 1"), std::string::npos) << text;
  EXPECT_NE(text.find("140"), std::string::npos) << text;
  EXPECT_NE(text.find("n/a"), std::string::npos) << "the unavailable cell\n" << text;
  EXPECT_NE(text.find("numa/read_bw/cpu_node:1/mem_node:0: unavailable: memory bound to node 0"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("1x1"), std::string::npos) << text;
  // CSV: a header with a column per memory node, a line per CPU node, per matrix.
  const std::string csv = render_numa_tables(r, TableFormat::kCsv);
  EXPECT_NE(csv.find("node 0,node 1"), std::string::npos) << csv;
  const std::vector<SummaryLine> summary = numa_summary(r);
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].what, "NUMA");
  EXPECT_NE(summary[0].measured.find("remote"), std::string::npos) << summary[0].measured;
  EXPECT_NE(summary[0].measured.find("1.56x"), std::string::npos) << summary[0].measured;  // 140 / 90
}

TEST(NumaAnalysisTest, OneNodeIsA1x1MatrixWithTheReason) {
  Results r;
  r.cases.push_back(numa_case("latency", 0, 0, "ns_per_load", 95, 1));
  r.cases.push_back(numa_case("read_bw", 0, 0, "gb_per_s", 25, 1));
  derive_all(r);
  const std::vector<NumaRow> rows = numa_rows(r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].note, "one NUMA node: hwloc reports 1 node with memory; the matrix is 1x1");
  const std::string text = render_numa_tables(r);
  EXPECT_NE(text.find("one NUMA node: hwloc reports 1 node with memory; the matrix is 1x1"), std::string::npos)
      << text;
  EXPECT_NE(render_sections(r).find("NUMA latency matrix"), std::string::npos);
  EXPECT_NE(render_summary(r).find("NUMA"), std::string::npos) << render_summary(r);
}

TEST(NumaAnalysisTest, NoNumaCasesNoMember) {
  Results r;
  derive_numa(r);
  EXPECT_FALSE(r.derived.extra.contains("numa"));
  EXPECT_EQ(render_numa_tables(r), "");
  EXPECT_TRUE(numa_summary(r).empty());
}

TEST(NumaAnalysisTest, CompareMatchesCellsByTheirNodes) {
  Results a = two_by_two();
  Results b = two_by_two(1.5);  // remote and local 50 % slower
  derive_all(a);
  derive_all(b);
  const Comparison c = compare_results(a, b);
  std::size_t numa_figures = 0;
  for (const FigureComparison& f : c.figures) {
    if (f.table != "numa") continue;
    ++numa_figures;
    EXPECT_TRUE(f.metric == "ns_per_load" || f.metric == "gb_per_s") << f.figure << ": node numbers are no figures";
    if (f.metric == "ns_per_load") {
      ASSERT_TRUE(f.ratio.has_value()) << f.figure;
      EXPECT_NEAR(*f.ratio, 1.5, 1e-9) << f.figure;
    }
  }
  EXPECT_GE(numa_figures, 7u);  // 4 latencies, 3 bandwidths
}

}  // namespace
}  // namespace memprobe::analysis
