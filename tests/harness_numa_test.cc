// The numa family end to end: a real `memprobe run --only numa --quick`
// gives a complete NxN matrix (1x1 on a one-node machine, and says so) of
// positive finite figures, or an unavailable reason for a cell, never a 0;
// a node that does not exist is refused with one line and exit status 2.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "analysis/families/numa.h"
#include "analysis/loaded_run.h"
#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

// Why the numa family measured nothing, when a results file says so; "".
std::string numa_unavailable_reason(const analysis::Results& results) {
  for (const analysis::UnavailableFigure& u : results.unavailable)
    if (u.what.rfind("numa/", 0) == 0 && !u.reason.empty()) return u.reason;
  return "";
}

TEST(NumaRunTest, QuickRunGivesACompleteMatrix) {
  const fs::path dir = testing::make_temp_dir("memprobe-numa");
  const std::string out = (dir / "numa.json").string();
  const auto r = run_command_line(kMemprobe + " run --only numa --quick --out " + out);
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  const analysis::Results results = analysis::load_run(out).results;
  std::error_code ec;
  fs::remove_all(dir, ec);

  const std::vector<analysis::NumaRow> rows = analysis::numa_rows(results);
  if (rows.empty()) {
    // Memory cannot be bound here (a kernel without NUMA, or qemu-user
    // without mbind): no cell is a number, and the run says why.
    const std::string why = numa_unavailable_reason(results);
    ASSERT_FALSE(why.empty()) << "no numa row and no reason\n" << r.out << r.err;
    EXPECT_NE(r.out.find(why), std::string::npos) << r.out;
    return;
  }
  std::set<double> nodes;
  for (const analysis::NumaRow& row : rows) {
    nodes.insert(row.cpu_node);
    nodes.insert(row.mem_node);
  }
  // Every (i, j) of the nodes is a row: the matrix is complete.
  EXPECT_EQ(rows.size(), nodes.size() * nodes.size()) << r.out;
  std::size_t measured = 0;
  for (const analysis::NumaRow& row : rows) {
    const std::string where = fmt::format("cpu_node:{:.0f}/mem_node:{:.0f}", row.cpu_node, row.mem_node);
    for (const auto& [kind, value] : {std::pair{"latency", row.ns_per_load}, std::pair{"read_bw", row.gb_per_s}}) {
      if (value) {
        EXPECT_TRUE(std::isfinite(*value) && *value > 0) << where << " " << kind << " " << *value;
        ++measured;
        continue;
      }
      // Not measured: an unavailable entry with the reason, never a number.
      bool said = false;
      for (const analysis::UnavailableFigure& u : results.unavailable)
        said |= u.what == std::string("numa/") + kind + "/" + where && !u.reason.empty();
      EXPECT_TRUE(said) << where << " " << kind << "\n" << r.out;
    }
  }
  bool emulated_placement = false;
  for (const analysis::UnavailableFigure& u : results.unavailable)
    emulated_placement |= u.reason.find("move_pages") != std::string::npos;
  if (!emulated_placement) {
    EXPECT_GT(measured, 0u) << r.out;
  }
  EXPECT_NE(r.out.find("NUMA latency matrix"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NUMA read bandwidth matrix"), std::string::npos) << r.out;
  if (nodes.size() == 1) {
    EXPECT_NE(r.out.find("the matrix is 1x1"), std::string::npos) << r.out;
    EXPECT_EQ(rows.front().note, "one NUMA node: hwloc reports 1 node with memory; the matrix is 1x1");
  }
}

TEST(NumaRunTest, ANodeThatDoesNotExistIsOneErrorLine) {
  const auto r = run_command_line(kMemprobe + " run --only numa --quick --nodes 0,4096");
  testing::expect_one_error_line(r, "--nodes 0,4096", {"--nodes", "no NUMA node 4096"});
  const auto bad = run_command_line(kMemprobe + " run --only numa --quick --nodes 0,x");
  testing::expect_one_error_line(bad, "--nodes 0,x", {"--nodes"});
}

// SIGINT after the first case (a latency cell): the case under way finishes
// on its bound worker, which is joined; the rest are skipped; the run exits
// 130 with the completed cells in a valid file. The binding belongs to the
// mapping and the worker, so nothing outlives the run to hang or hold it.
// On one node the numa family has two cells and the second (a short read)
// can end before the signal lands, so the pagefault family (--only runs families
// in the order named) keeps the run going for seconds past the first case.
TEST(NumaRunTest, InterruptedRunKeepsTheCompletedCells) {
  const fs::path dir = testing::make_temp_dir("memprobe-numa-int");
  const fs::path file = dir / "numa.json";
  const auto r = testing::run_after_first_case(
      "env --default-signal " + kMemprobe + " run --only numa,pagefault --out " + file.string(),
      "kill -INT $pid");
  const analysis::Results results = analysis::load_results(file.string());
  if (r.exit_status == 0 && results.cases.empty() && !numa_unavailable_reason(results).empty())
    GTEST_SKIP() << "memory cannot be bound here, so every cell failed before the signal: "
                 << numa_unavailable_reason(results);
  EXPECT_EQ(r.exit_status, 130) << r.err;
  EXPECT_TRUE(results.interrupted);
  std::size_t measured = 0;
  for (const analysis::NumaRow& row : analysis::numa_rows(results)) {
    if (row.ns_per_load) {
      EXPECT_GT(*row.ns_per_load, 0);
    }
    measured += row.ns_per_load.has_value() ? 1 : 0;
  }
  // The cell under way when the signal came is kept: measured, or (where
  // this kernel or an emulator cannot bind or verify pages) unavailable with
  // its reason.
  std::size_t failed_with_reason = 0;
  for (const analysis::UnavailableFigure& u : results.unavailable)
    if (u.what.rfind("numa/latency", 0) == 0 && !u.reason.empty() && u.reason != "interrupted") ++failed_with_reason;
  EXPECT_GE(measured + failed_with_reason, 1u) << r.err;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace memprobe
