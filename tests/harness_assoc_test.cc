// `memprobe run --only assoc --quick` on this machine: every data cache level
// hwloc reports gets a row with a verdict and its evidence (a number only
// where a conflict was seen), the DTLB stride sweep a row per stride, and
// the tables and the summary row are printed. No timing thresholds: what the
// verdicts are depends on the machine; that each is one of the four, with
// its evidence, holds anywhere.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "analysis/families/assoc.h"
#include "analysis/family_support.h"
#include "analysis/results_json.h"
#include "tests/command_runner.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

TEST(AssocRunTest, EveryLevelHasAVerdictWithItsEvidenceAndEveryStrideARow) {
  const fs::path dir = testing::make_temp_dir("memprobe-assoc");
  const fs::path file = dir / "assoc.json";
  const auto run = run_command_line(kMemprobe + " run --only assoc --quick --out " + file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const analysis::Results r = analysis::load_results(file.string());
  std::set<std::string> probed_levels;
  std::set<double> strides;
  for (const analysis::Case& c : r.cases) {
    ASSERT_EQ(c.family, "assoc");
    if (analysis::param_text(c.params, "role") == "cache") probed_levels.insert(analysis::param_text(c.params, "level"));
    if (analysis::param_text(c.params, "role") == "tlb") strides.insert(*analysis::param_number(c, "stride_pages"));
  }
  // A cache level is probed wherever the topology reports one (hwloc may
  // report none, e.g. under an emulator).
  if (!r.machine.caches.empty()) {
    EXPECT_FALSE(probed_levels.empty() && analysis::assoc_cache_rows(r).empty()) << run.err;
  }
  std::set<std::string> rows;
  for (const analysis::AssocCacheRow& row : analysis::assoc_cache_rows(r)) {
    rows.insert(row.level);
    const std::set<std::string> verdicts = {"measured", "not visible", "at most", "not decided"};
    EXPECT_TRUE(verdicts.count(row.verdict)) << row.level << ": " << row.verdict;
    EXPECT_FALSE(row.evidence.empty()) << row.level;
    if (row.verdict == "measured" || row.verdict == "at most") {
      ASSERT_TRUE(row.ways.has_value()) << row.level;
      EXPECT_GE(*row.ways, 1) << row.level;
    } else {
      EXPECT_FALSE(row.ways.has_value()) << row.level << ": no number without a conflict";
    }
  }
  // Every probed level has its row (a level no stride could probe has one too, saying why).
  for (const std::string& level : probed_levels) EXPECT_TRUE(rows.count(level)) << level;
  EXPECT_EQ(analysis::assoc_tlb_stride_rows(r).size(), strides.size());
  EXPECT_EQ(analysis::assoc_tlb_rows(r).size(), 2u);
  if (!r.machine.caches.empty()) {
    EXPECT_NE(run.out.find("Associativity:"), std::string::npos) << run.out;
  }
  EXPECT_NE(run.out.find("DTLB reach by page stride"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("associativity"), std::string::npos) << run.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
