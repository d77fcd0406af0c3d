// `memprobe run --only c2c --quick` on this machine: every ordered pair of
// the CPUs memprobe may use gets a positive, finite one-way latency; started
// on one CPU (taskset) the family is unavailable with its reason, and the
// run still succeeds. No timing thresholds: only what holds anywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include "analysis/families/c2c.h"
#include "analysis/results_json.h"
#include "core/topology.h"
#include "tests/command_runner.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

TEST(C2cRunTest, EveryOrderedPairHasAPositiveFiniteOneWayLatency) {
  const std::vector<int>& cpus = core::inherited_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs: this process may run only on " << core::inherited_cpus_list();
  if (cpus.size() * (cpus.size() - 1) > 64) GTEST_SKIP() << "more than 64 ordered pairs: the run samples them";
  const fs::path dir = testing::make_temp_dir("memprobe-c2c");
  const fs::path file = dir / "c2c.json";
  const auto run = run_command_line(kMemprobe + " run --only c2c --quick --out " + file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("from \\ to"), std::string::npos) << run.out;
  const analysis::Results r = analysis::load_results(file.string());
  std::set<std::pair<int, int>> seen;
  for (const analysis::C2cRow& row : analysis::c2c_rows(r)) {
    EXPECT_NE(row.a_cpu, row.b_cpu);
    EXPECT_TRUE(std::isfinite(row.one_way_ns)) << row.a_cpu << "->" << row.b_cpu;
    EXPECT_GT(row.one_way_ns, 0) << row.a_cpu << "->" << row.b_cpu;
    EXPECT_FALSE(row.shares.empty());
    seen.insert({static_cast<int>(row.a_cpu), static_cast<int>(row.b_cpu)});
  }
  for (const int a : cpus)
    for (const int b : cpus)
      if (a != b) {
        EXPECT_TRUE(seen.count({a, b})) << "pair " << a << "->" << b << " missing:\n" << run.out;
      }
  EXPECT_EQ(seen.size(), cpus.size() * (cpus.size() - 1));
  // The case's own metric is the same figure.
  for (const analysis::Case& c : r.cases)
    if (c.family == "c2c") {
      EXPECT_GT(analysis::metric(c, "one_way_ns").value_or(0), 0) << c.name;
    }
  fs::remove_all(dir);
}

TEST(C2cRunTest, OnOneCpuUnavailableWithTheReason) {
  if (run_command_line("command -v taskset").exit_status != 0) GTEST_SKIP() << "taskset (util-linux) is not installed";
  const std::vector<int>& cpus = core::inherited_cpus();
  const std::string one = std::to_string(cpus.front());
  const fs::path dir = testing::make_temp_dir("memprobe-c2c-one");
  const fs::path file = dir / "c2c.json";
  const auto run =
      run_command_line("taskset -c " + one + " " + kMemprobe + " run --only c2c --quick --out " + file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("needs two CPUs"), std::string::npos) << run.out;
  const analysis::Results r = analysis::load_results(file.string());
  EXPECT_TRUE(analysis::c2c_rows(r).empty());
  bool reason = false;
  for (const auto& u : r.unavailable)
    if (u.what.rfind("c2c", 0) == 0 && u.reason.find("needs two CPUs") != std::string::npos) reason = true;
  EXPECT_TRUE(reason) << run.out;
  fs::remove_all(dir);
}

// SIGINT while a pair is measured: the pair under way finishes (its two
// pinned threads joined), the rest are skipped, the run exits 130 with the
// completed pairs in a valid file, and no thread is left behind to hang it.
// On two CPUs there are two pairs and the second can end before the signal
// lands, so the pagefault family (--only runs families in the order named)
// keeps the run going for seconds past the first pair.
TEST(C2cRunTest, InterruptedRunKeepsTheCompletedPairs) {
  const std::vector<int>& cpus = core::inherited_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs: this process may run only on " << core::inherited_cpus_list();
  const fs::path dir = testing::make_temp_dir("memprobe-c2c-int");
  const fs::path file = dir / "c2c.json";
  const auto r = testing::run_after_first_case(
      "env --default-signal " + kMemprobe + " run --only c2c,pagefault --out " + file.string(),
      "kill -INT $pid");
  EXPECT_EQ(r.exit_status, 130) << r.err;
  const analysis::Results results = analysis::load_results(file.string());
  EXPECT_EQ(results.interrupted, true);
  const auto rows = analysis::c2c_rows(results);
  EXPECT_FALSE(rows.empty()) << "the pair under way when the signal came is kept\n" << r.err;
  for (const analysis::C2cRow& row : rows) EXPECT_GT(row.one_way_ns, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
