// `memprobe run` measures family by family and sizes each from what the run
// measured before it. Properties that hold on any machine: the latency sweep
// records where it ended and why; every page policy's curve has the same
// points and the same chain pattern; a sweep that says it showed DRAM has a
// DRAM plateau in its own file; families after latency were sized from it.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "analysis/derived.h"
#include "analysis/results_json.h"
#include "harness/stages.h"
#include "tests/command_runner.h"
#include "tests/emulation.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

TEST(StagesTest, LatencySweepRecordsItsEndAndCurvesShareTheirPoints) {
  const fs::path dir = fs::temp_directory_path() / ("memprobe-stages-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "r.json").string();
  const auto r = run_command_line(std::string(MEMPROBE_BINARY) + " run --quick --only latency,stride --out " + out);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const analysis::Results results = analysis::load_results(out);
  fs::remove_all(dir);

  ASSERT_TRUE(results.extra.contains("latency_sweep")) << r.err;
  const auto& sweep = results.extra["latency_sweep"];
  const auto up_to = sweep.at("up_to_bytes").get<std::uint64_t>();
  const std::string reason = sweep.at("end_reason").get<std::string>();
  EXPECT_FALSE(reason.empty());
  EXPECT_NE(r.err.find("latency sweep ended at"), std::string::npos) << r.err;

  // The sweep's first step reaches kFirstLatencySweepTopBytes unless its bound is lower.
  std::map<std::string, std::set<double>> sizes_by_page;
  std::map<std::string, std::set<std::string>> methods_by_page;
  for (const analysis::Case& c : results.cases) {
    if (c.family != "latency") continue;
    const std::string page = c.params.at("page").get<std::string>();
    const double ws = c.params.at("working_set_bytes").get<double>();
    EXPECT_LE(ws, static_cast<double>(up_to)) << c.name;
    sizes_by_page[page].insert(ws);
    methods_by_page[page].insert(c.params.at("tlb_method").get<std::string>());
  }
  ASSERT_EQ(sizes_by_page.size(), 2u) << "4k and thp";
  EXPECT_EQ(sizes_by_page["4k"], sizes_by_page["thp"]) << "every policy measures the same working sets";
  EXPECT_EQ(methods_by_page["4k"], methods_by_page["thp"]) << "one chain pattern for every page policy";
  EXPECT_EQ(methods_by_page["4k"].size(), 1u);
  // The largest point is the grid's last one within the sweep's end (the
  // grid has at least 2 points per octave).
  EXPECT_GE(*sizes_by_page["4k"].rbegin() * 1.5, static_cast<double>(up_to));

  // A sweep that ended on the DRAM rule has that plateau in its own file, and
  // the families after it were sized from the levels it found.
  if (reason.rfind("the 4k curve showed DRAM", 0) == 0) {
    EXPECT_TRUE(analysis::latency_dram_plateau(results, "4k").has_value());
    const auto& measured = results.extra.at("sized_from_measured");
    EXPECT_GT(measured.at("dram_from_bytes").get<std::uint64_t>(), 0u);
    EXPECT_FALSE(measured.at("cache_bytes").empty());
  } else {
    std::cout << "sweep ended without the DRAM rule (" << reason << "): the sized-from checks do not apply\n";
  }
}

}  // namespace
}  // namespace memprobe
