#include "analysis/plots.h"

#include "analysis/families/hugepage.h"
#include "analysis/families/latency.h"
#include "analysis/families/tlb.h"
#include "analysis/loaded_run.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace memprobe::analysis {
namespace {

Results two_page_results() {
  Results r;
  r.machine.cpu_model = "Test CPU \"X\"";
  r.machine.caches = {{1, "data", 32768, 64, 8}, {1, "instruction", 32768, 64, 8}, {2, "unified", 1048576, 64, 8}};
  for (const char* page : {"4k", "thp"}) {
    for (double kib : {4.0, 64.0, 4096.0}) {
      Case c;
      c.family = "latency";
      c.name = std::string("latency/") + page;
      c.params = {{"working_set_bytes", kib * 1024}, {"page", page}};
      c.metrics = {{"ns_per_load", kib < 32 ? 1.0 : 4.0}};
      c.backing = {page, page, 0};
      r.cases.push_back(c);
    }
  }
  return r;
}

TEST(PlotsTest, LatencyPlotHasOneSeriesPerPageAndMarksReportedDataCaches) {
  const auto plots = latency_plots(two_page_results());
  ASSERT_EQ(plots.size(), 1u);
  const std::string& s = plots[0].script;
  EXPECT_EQ(plots[0].name, "latency");
  EXPECT_NE(s.find("$latency_4k << EOD\n4 1\n64 4\n4096 4\nEOD"), std::string::npos) << s;
  EXPECT_NE(s.find("$latency_thp << EOD"), std::string::npos);
  EXPECT_NE(s.find("L1 reported 32 KiB"), std::string::npos);
  EXPECT_NE(s.find("L2 reported 1 MiB"), std::string::npos);
  EXPECT_EQ(s.find("L1 reported 32 KiB", s.find("L1 reported 32 KiB") + 1), std::string::npos)
      << "the instruction cache is not marked";
  EXPECT_NE(s.find("set output 'latency.svg'"), std::string::npos);
  EXPECT_NE(s.find("set output 'latency.png'"), std::string::npos);
  EXPECT_NE(s.find("set title 'load-to-use latency: Test CPU \"X\""), std::string::npos) << "titles are quoted";
}

TEST(PlotsTest, HugepagePlotShowsOnlyVerifiedBackings) {
  Results r;
  r.derived.extra["hugepage"] = nlohmann::json::array(
      {{{"page", "4k"}, {"working_set_bytes", 65536.0}, {"ns_per_load", 4.0}, {"backing_verified", true}},
       {{"page", "thp"}, {"working_set_bytes", 65536.0}, {"ns_per_load", 3.0}, {"backing_verified", true}},
       {{"page", "hugetlb-2m"}, {"working_set_bytes", 65536.0}, {"ns_per_load", 2.0}, {"backing_verified", false}}});
  const auto plots = hugepage_plots(r);
  ASSERT_EQ(plots.size(), 1u);
  const std::string& s = plots[0].script;
  EXPECT_NE(s.find("$hugepage_4k << EOD\n64 4\nEOD"), std::string::npos) << s;
  EXPECT_NE(s.find("$hugepage_thp << EOD\n64 3\nEOD"), std::string::npos) << s;
  EXPECT_NE(s.find("$hugepage_hugetlb_2m << EOD\nEOD"), std::string::npos) << "unverified rows are not plotted";
  EXPECT_TRUE(tlb_plots(r).empty());
}

// A knee marker is drawn on the curve it names: at a measured point of the
// curve the levels came from, whatever the level's latency (a level whose
// latency is a plateau far below its knee once put its dot off the curve).
TEST(PlotsTest, KneeMarkersSitOnTheCurve) {
  Results r = two_page_results();
  CacheLevelRow l1;
  l1.level = "L1";
  l1.detected_bytes = 60 * 1024.0;  // nearest measured point: 64 KiB, 4 ns
  l1.latency_ns = 1.0;              // the plateau's latency, not the curve's value there
  r.derived.cache_levels = {l1};
  r.derived.extra["latency_curve_page"] = "4k";
  const std::string s = latency_plots(r).at(0).script;
  EXPECT_NE(s.find("'L1 knee 60 KiB' at 64, 4 point"), std::string::npos) << s;
}

// Each family captions its own plot (the HTML report's figures); the
// generic report code names no family. A kept Zen 5 reference run draws
// latency, tlb, hugepage, bandwidth, mlp, loaded and c2c plots.
TEST(PlotsTest, EveryPlotOfAKeptRunCarriesItsOwnCaption) {
  const LoadedRun run = load_run(std::string(MEMPROBE_SOURCE_DIR) +
                                 "/results/amd-fam26-model2-bhyve-2cpu/2026-12-07-410142d.json");
  const std::vector<Plot> plots = build_plots(run.results);
  ASSERT_GE(plots.size(), 6u);
  std::set<std::string> captions;
  for (const Plot& plot : plots) {
    SCOPED_TRACE(plot.name);
    EXPECT_GT(plot.caption.size(), plot.name.size());
    EXPECT_TRUE(captions.insert(plot.caption).second) << "two plots share a caption: " << plot.caption;
  }
}

TEST(PlotsTest, NoLatencyCasesNoPlot) { EXPECT_TRUE(latency_plots(Results{}).empty()); }

TEST(PlotsTest, QuoteDoublesSingleQuotesAndLeavesTheRestAsText) {
  EXPECT_EQ(gnuplot_quote("a\"b\\c"), "'a\"b\\c'");
  EXPECT_EQ(gnuplot_quote("it's"), "'it''s'");
  // gnuplot runs `...` inside double quotes: single quotes keep it text.
  EXPECT_EQ(gnuplot_quote("`touch pwned`"), "'`touch pwned`'");
  EXPECT_EQ(gnuplot_quote("a\nb"), "'a\\x0ab'");
}

}  // namespace
}  // namespace memprobe::analysis
