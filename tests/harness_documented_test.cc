// Behaviours README.md and docs/ promise of the memprobe command that no other
// test held (issue 13): each test names the page and the sentence it holds.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "analysis/results_json.h"
#include "benchmarks/family.h"
#include "harness/collector.h"
#include "tests/command_runner.h"
#include "tests/pool_lock.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

// A fresh directory under the system temp directory, removed afterwards.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("memprobe-documented-" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// README: `memprobe list` lists the benchmark families.
TEST(DocumentedTest, ListNamesEveryFamily) {
  const auto r = run_command_line(kMemprobe + " list");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  for (const auto& family : bench::families()) EXPECT_NE(r.out.find(family.name), std::string::npos) << family.name;
}

// README: `report` reads only regular files; a FIFO without a writer is
// refused at once with one line and exit status 2 (it once hung).
TEST(DocumentedTest, ReportOnAFifoOrADeviceIsOneLineAndStatus2) {
  TempDir dir;
  const fs::path fifo = dir.path / "results.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  for (const std::string& file : {fifo.string(), std::string("/dev/zero")}) {
    const auto r = run_command_line("timeout 60 " + kMemprobe + " report " + file);
    EXPECT_EQ(r.exit_status, 2) << file << "\n" << r.err;
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0].rfind("memprobe: error: cannot read " + file + ": ", 0), 0u) << lines[0];
  }
}

// docs/huge-pages.md: the headline command works on a host without pools
// (a missing or empty pool only marks cases unavailable), and
// docs/reading-tables.md: a table whose family was not run is left out
// (`--only hugepage` prints no cache table); the summary says when no
// DRAM-sized point ran.
TEST(DocumentedTest, HugepageRunWithoutPoolsMarksCasesUnavailableAndLeavesTheCacheTableOut) {
  memprobe::testing::HugetlbPoolLock pool_lock;
  for (const char* pool : {"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
                           "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages"}) {
    const std::string free_pages = testing::slurp(pool);
    if (!free_pages.empty() && std::stoul(free_pages) > 0)
      GTEST_SKIP() << pool << " has free pages: the unavailable lines this test expects would not appear";
  }
  // The ladder sizes its DRAM points from an LLC of at least 4 MiB, so a
  // 4 MiB cap leaves no DRAM-sized point on any machine.
  const auto r = run_command_line(kMemprobe + " run --only hugepage --pages 4k,2m,1g --quick --max-working-set 4MiB");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("2m: unavailable: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1g: unavailable: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("level  reported"), std::string::npos) << "no latency family, no cache table:\n" << r.out;
  EXPECT_NE(r.out.find("no DRAM-sized point measured (largest working set"), std::string::npos) << r.out;
}

// README: the seed is stored as an exact unsigned integer (issue 13, row 14:
// 2^64 - 1 became the double 1.8446744073709552e+19). A case's label carries
// it as text; the collector and the results file keep every digit.
TEST(DocumentedTest, TheLargestSeedIsStoredExactlyInEachCase) {
  harness::RawRun run;
  run.name = "latency/4k/bytes:4096";
  run.label = "page=4k working_set_bytes=4096 seed=18446744073709551615";
  run.counters["ns_per_load"] = 1.0;
  analysis::Results results;
  harness::add_runs_to_results({run}, results);
  ASSERT_EQ(results.cases.size(), 1u);
  const auto& seed = results.cases[0].params.at("seed");
  ASSERT_TRUE(seed.is_number_unsigned()) << seed.dump();
  EXPECT_EQ(seed.get<std::uint64_t>(), UINT64_MAX);
  const std::string text = analysis::to_json(results).dump();
  EXPECT_NE(text.find("\"seed\":18446744073709551615"), std::string::npos) << text;
}

}  // namespace
}  // namespace memprobe
