// Issue 26: `taskset -c 0 memprobe run --cpu 1` and `taskset -c 0 memprobe
// run` both pinned to CPU 1, outside the affinity mask memprobe was started
// with (the kernel lets a thread leave its inherited mask; hwloc's allowed
// set is the cgroup's, not the mask). Every place that picks or checks a
// CPU keeps to the mask: --cpu, the default CPU, and the threads of the
// multi-threaded families (bandwidth, loaded: one CPU per core of the mask).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "analysis/results_json.h"
#include "core/topology.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

TEST(CpuMaskTest, EveryCpuChoiceStaysInsideTheInheritedMask) {
  if (run_command_line("command -v taskset").exit_status != 0) GTEST_SKIP() << "taskset (util-linux) is not installed";
  const std::vector<int>& cpus = core::inherited_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs to start memprobe with one of them outside its mask";
  const std::string inside = std::to_string(cpus.front()), outside = std::to_string(cpus.back());
  const std::string masked = "taskset -c " + inside + " " + kMemprobe;

  const std::string refused = masked + " run --only latency --quick --cpu " + outside;
  testing::expect_one_error_line(run_command_line(refused), refused,
                                 {"--cpu", "CPU " + outside + " is outside", "may run on: " + inside});

  const fs::path dir = testing::make_temp_dir("memprobe-cpu-mask");
  const fs::path file = dir / "r.json";
  const auto run = run_command_line(masked + " run --only latency --quick --max-working-set 64KiB --out " +
                                    file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.err.find("pinned to CPU " + inside + ";"), std::string::npos) << run.err;
  EXPECT_EQ(analysis::load_results(file.string()).extra.value("pinned_cpu", -1), cpus.front());
  fs::remove_all(dir);

  // The multi-threaded bandwidth cases use one CPU per core of the mask: one.
  const auto listed = run_command_line(masked + " bench '--benchmark_filter=^bandwidth/' --benchmark_list_tests=true");
  ASSERT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_NE(listed.out.find("/threads:1/"), std::string::npos) << listed.out;
  EXPECT_FALSE(std::regex_search(listed.out, std::regex("/threads:([2-9]|[1-9][0-9]+)/"))) << listed.out;
}

}  // namespace
}  // namespace memprobe
