// Drives the memprobe binary: bad input gets one line and exit status 2, a
// quick latency run writes a results file that follows the schema.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/families/latency.h"
#include "analysis/results_json.h"
#include "core/machine.h"
#include "core/units.h"
#include "tests/command_runner.h"
#include "tests/emulation.h"
#include "tests/pool_lock.h"

namespace memprobe {
namespace {

using testing::run_command_line;

void expect_usage_error(const std::string& args, const std::string& names) {
  const auto r = run_command_line(kMemprobe + " " + args);
  EXPECT_EQ(r.exit_status, 2) << args << "\n" << r.err;
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << args << "\n" << r.err;
  EXPECT_EQ(lines[0].rfind("memprobe: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(names), std::string::npos) << "message should name '" << names << "': " << lines[0];
}

// The same, naming every one of `names`.
void expect_usage_error_naming(const std::string& args, const std::vector<std::string>& names) {
  for (const std::string& name : names) expect_usage_error(args, name);
}

std::string read_pool(const std::string& path) { return testing::slurp(path); }

TEST(CliTest, BadInputGetsOneLineAndStatus2) {
  expect_usage_error("frobnicate", "frobnicate");
  expect_usage_error("run --pages 3m", "3m");
  expect_usage_error("run --only bogus", "bogus");
  expect_usage_error("run --cpu 99", "99");
  expect_usage_error("run --cpu -1", "-1");
  expect_usage_error("run --cpu x", "x");
  expect_usage_error("run --frobnicate", "frobnicate");
  expect_usage_error("run --out /nonexistent-memprobe-dir/r.json", "/nonexistent-memprobe-dir");
  expect_usage_error("bench --benchmark_bogus", "benchmark_bogus");
  expect_usage_error("run --counters NOT_AN_EVENT_XYZ", "NOT_AN_EVENT_XYZ");
  expect_usage_error("run --budget -1", "-1");
  expect_usage_error("run --budget abc", "abc");
  expect_usage_error("run --max-working-set 12XB", "12XB");
  expect_usage_error_naming("run --max-working-set 0", {"'0'", "minimum of 64 KiB"});
  expect_usage_error_naming("run --max-working-set 100000", {"100000", "4 KiB pages"});
  expect_usage_error_naming("run --max-working-set 1000TiB", {"1000TiB", "MemAvailable"});
  // Four times what is available now: refused before anything is allocated.
  if (const auto available = core::mem_available_bytes()) {
    const std::string four_times = std::to_string(*available * 4 / core::kMiB) + "MiB";
    expect_usage_error_naming("run --max-working-set " + four_times, {four_times, "MemAvailable"});
  }
  // Integers are whole, non-negative and in range: CLI11 alone wraps "-3"
  // into 2^64 - 3, which --reserve-hugepages would have asked the kernel for.
  expect_usage_error("run --seed -5", "'-5'");
  expect_usage_error("run --seed 18446744073709551616", "18446744073709551616");
  expect_usage_error("run --seed 1.5", "'1.5'");
  expect_usage_error("run --reserve-hugepages -3", "'-3'");
  expect_usage_error("run --reserve-hugepages-1g x", "'x'");
  expect_usage_error("run --cpu 1.5", "'1.5'");
  expect_usage_error("run --only ''", "--only");
}

TEST(CliTest, ReservationLargerThanMemoryIsRefusedBeforeTouchingThePool) {
  // As root the size check answers; otherwise the root check does first.
  // Either way nothing is written and the flag is named.
  const std::string pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
  if (!std::filesystem::exists(pool)) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  memprobe::testing::HugetlbPoolLock pool_lock;
  const std::string before = read_pool(pool);
  expect_usage_error("run --reserve-hugepages 18446744073709551615", "--reserve-hugepages");
  if (::geteuid() == 0)
    expect_usage_error_naming("run --reserve-hugepages 100000000", {"100000000", "MemAvailable", "at most"});
  EXPECT_EQ(read_pool(pool), before);
}

TEST(CliTest, BadResultsFilesGetOneLineAndStatus2) {
  const auto dir = std::filesystem::temp_directory_path() / ("memprobe-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "empty.json").close();
  std::ofstream(dir / "text.json") << "hello";
  std::ofstream(dir / "truncated.json") << R"({"schema": "memprobe/1", "cases": [)";
  std::ofstream(dir / "other.json") << R"({"schema": "other/7"})";
  expect_usage_error("report " + (dir / "missing.json").string(), "missing.json");
  expect_usage_error("report " + dir.string(), "Is a directory");
  expect_usage_error("report " + (dir / "empty.json").string(), "empty");
  expect_usage_error("report " + (dir / "text.json").string(), "JSON");
  expect_usage_error("report " + (dir / "truncated.json").string(), "truncated.json");
  expect_usage_error("report " + (dir / "other.json").string(), "other/7");
  std::filesystem::remove_all(dir);
}

TEST(CliTest, VersionExitsZeroAndNamesTheRevision) {
  const auto r = run_command_line(kMemprobe + " --version");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("memprobe ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(git "), std::string::npos) << r.out;
}

TEST(CliTest, HelpExitsZeroAndNamesTheSubcommands) {
  const auto r = run_command_line(kMemprobe + " --help");
  EXPECT_EQ(r.exit_status, 0);
  for (const char* word : {"run", "report", "bench"}) EXPECT_NE(r.out.find(word), std::string::npos) << word;
  const auto run_help = run_command_line(kMemprobe + " run --help");
  EXPECT_EQ(run_help.exit_status, 0);
  EXPECT_NE(run_help.out.find("--pages"), std::string::npos);
  EXPECT_NE(run_help.out.find("latency"), std::string::npos);
}

// One quick latency sweep end to end: asserts the file's shape and the
// relations between figures, never a timing.
TEST(CliTest, QuickLatencyRunWritesASchemaConformingResultsFile) {
  const auto path = std::filesystem::temp_directory_path() / ("memprobe-run-" + std::to_string(::getpid()) + ".json");
  const auto r = run_command_line(kMemprobe + " run --only latency --quick --pages 4k --out " + path.string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("latency cycles"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("[1/"), std::string::npos) << "progress on stderr";
  EXPECT_FALSE(testing::temp_file_left(path));

  const analysis::Results results = analysis::load_results(path.string());
  EXPECT_EQ(results.schema, "memprobe/1");
  ASSERT_FALSE(results.cases.empty());
  ASSERT_GT(results.machine.core_hz, 0);
  for (const analysis::Case& c : results.cases) {
    EXPECT_EQ(c.family, "latency");
    EXPECT_GT(c.metrics.at("ns_per_load"), 0) << c.name;
    // Cycles come from the calibrated core clock, not from TSC ticks.
    EXPECT_NEAR(c.metrics.at("cycles_per_load") / c.metrics.at("ns_per_load"), results.machine.core_hz / 1e9,
                1e-6 * results.machine.core_hz / 1e9)
        << c.name;
    EXPECT_LE(c.spread.min, c.spread.median);
    EXPECT_LE(c.spread.median, c.spread.max);
    EXPECT_EQ(c.backing.requested, "4k");
    EXPECT_EQ(c.params.at("page"), "4k");
    EXPECT_GT(c.params.at("working_set_bytes").get<double>(), 0);
    // Software counters count on any Linux kernel (not under qemu-user, which
    // does not emulate perf_event_open); the chase is pre-faulted, so no page
    // fault may happen inside a timed region.
    if (testing::emulation_reason()) continue;
    ASSERT_TRUE(c.counters.count("minor_faults_per_access")) << c.name;
    EXPECT_EQ(c.counters.at("minor_faults_per_access"), 0.0) << c.name;
  }
  // Hardware counters either counted or are listed as unavailable with a reason.
  if (!results.machine.pmu_available) {
    bool listed = false;
    for (const auto& u : results.unavailable) listed |= u.what == "hardware counters" && !u.reason.empty();
    EXPECT_TRUE(listed);
    EXPECT_NE(r.err.find("hardware counters unavailable: "), std::string::npos);
  }
  // One row per reported data cache level, then DRAM.
  const auto& rows = results.derived.cache_levels;
  std::size_t data_caches = 0;
  for (const auto& cache : results.machine.caches) data_caches += cache.kind != "instruction";
  ASSERT_EQ(rows.size(), data_caches + 1);
  for (std::size_t i = 0; i < data_caches; ++i) EXPECT_EQ(rows[i].level, "L" + std::to_string(i + 1));
  EXPECT_EQ(rows.back().level, "DRAM");

  // The same tables from the file, in every format, and plots as images.
  const auto markdown = run_command_line(kMemprobe + " report " + path.string() + " --format markdown");
  ASSERT_EQ(markdown.exit_status, 0) << markdown.err;
  EXPECT_NE(markdown.out.find("| level | reported | detected | latency ns | latency cycles | spread |"),
            std::string::npos);
  const auto csv = run_command_line(kMemprobe + " report " + path.string() + " --format csv");
  ASSERT_EQ(csv.exit_status, 0) << csv.err;
  EXPECT_NE(csv.out.find("level,reported,detected,latency ns,latency cycles,spread"), std::string::npos);
  const auto plot_dir = std::filesystem::temp_directory_path() / ("memprobe-plots-" + std::to_string(::getpid()));
  const auto plots = run_command_line(kMemprobe + " report " + path.string() + " --plot " + plot_dir.string());
  if (std::system("command -v gnuplot >/dev/null") == 0) {
    ASSERT_EQ(plots.exit_status, 0) << plots.err;
    const std::string png = testing::slurp(plot_dir / "latency.png");
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.substr(1, 3), "PNG");
    EXPECT_NE(testing::slurp(plot_dir / "latency.svg").find("<svg"), std::string::npos);
  } else {
    EXPECT_EQ(plots.exit_status, 1);
    EXPECT_NE(plots.err.find("gnuplot"), std::string::npos) << plots.err;
  }
  std::filesystem::remove_all(plot_dir);
  expect_usage_error("report " + path.string() + " --format xml", "xml");

  const auto json = nlohmann::json::parse(testing::slurp(path));
  for (const char* member : {"schema", "command", "started_at", "git", "machine", "cases", "unavailable", "derived"})
    EXPECT_TRUE(json.contains(member)) << member;
  std::filesystem::remove(path);
}

// --max-working-set ends the latency sweep exactly at the cap; the header
// and the results file say which cap the run used. Properties only.
TEST(CliTest, MaxWorkingSetIsTheTopOfTheLatencySweep) {
  const auto path = std::filesystem::temp_directory_path() / ("memprobe-maxws-" + std::to_string(::getpid()) + ".json");
  const auto r = run_command_line(kMemprobe + " run --only latency --quick --pages 4k --max-working-set 8MiB --out " +
                                  path.string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("working sets at most 8 MiB (--max-working-set)"), std::string::npos) << r.out;
  const analysis::Results results = analysis::load_results(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(results.cases.empty());
  double largest = 0;
  for (const analysis::Case& c : results.cases) {
    if (c.family != "latency") continue;
    largest = std::max(largest, c.params.at("working_set_bytes").get<double>());
  }
  EXPECT_EQ(largest, 8.0 * core::kMiB);
  EXPECT_EQ(results.extra.value("max_working_set_bytes", std::uint64_t{0}), 8 * core::kMiB);
  // The DRAM row has a figure only where the capped curve itself showed a
  // DRAM plateau (a guest's effective L3 can be smaller than 8 MiB, and a
  // loaded host can thrash it); otherwise it says why it has none.
  ASSERT_FALSE(results.derived.cache_levels.empty());
  const analysis::CacheLevelRow& dram = results.derived.cache_levels.back();
  ASSERT_EQ(dram.level, "DRAM");
  if (analysis::latency_dram_plateau(results, "4k")) {
    EXPECT_TRUE(dram.latency_ns.has_value()) << dram.note;
  } else {
    EXPECT_FALSE(dram.latency_ns.has_value());
    EXPECT_NE(dram.note.find("did not reach DRAM"), std::string::npos) << dram.note;
  }
}

// SIGINT mid-run: the current case finishes, the rest are skipped, the
// completed ones are written to a valid results file, exit status 130.
TEST(CliTest, InterruptedRunKeepsCompletedCasesInAValidFile) {
  for (const std::string signal : {"INT", "TERM"}) {
    SCOPED_TRACE("SIG" + signal);
    const auto path =
        std::filesystem::temp_directory_path() / ("memprobe-int-" + std::to_string(::getpid()) + ".json");
    const auto r = testing::run_after_first_case(kMemprobe + " run --only latency --pages 4k --out " + path.string(),
                                                 "kill -" + signal + " $pid");
    ASSERT_EQ(r.exit_status, 130) << r.err;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
    EXPECT_FALSE(testing::temp_file_left(path));
    const analysis::Results results = analysis::load_results(path.string());
    EXPECT_EQ(results.interrupted, true);
    EXPECT_FALSE(results.cases.empty()) << "the cases completed before the signal are kept";
    for (const auto& u : results.unavailable) EXPECT_NE(u.reason, "interrupted") << u.what;
    const auto report = run_command_line(kMemprobe + " report " + path.string());
    EXPECT_EQ(report.exit_status, 0) << report.err;
    EXPECT_NE(report.out.find("INCOMPLETE"), std::string::npos) << "a report of an interrupted run says so";
    std::filesystem::remove(path);
  }
}

// Issue acceptance: SIGINT during a run that reserved hugetlb pages leaves the
// pool at its previous value and a valid results file with the completed cases.
TEST(CliTest, InterruptedReservingRunRestoresThePool) {
  if (::geteuid() != 0) GTEST_SKIP() << "--reserve-hugepages needs root (not root here)";
  const std::string pool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
  if (!std::filesystem::exists(pool)) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  memprobe::testing::HugetlbPoolLock pool_lock;
  const std::string before = read_pool(pool);
  const auto path = std::filesystem::temp_directory_path() / ("memprobe-resint-" + std::to_string(::getpid()) + ".json");
  // 2m pages so that the reservation is used (an unused one is refused).
  const auto r = testing::run_after_first_case(kMemprobe + " run --only latency --pages 4k,2m --max-working-set 16MiB "
                                               "--reserve-hugepages " + std::to_string(std::stoul(before) + 8) +
                                               " --out " + path.string(),
                                               "kill -INT $pid");
  EXPECT_EQ(read_pool(pool), before) << "the pool was not restored";
  ASSERT_EQ(r.exit_status, 130) << r.err;
  EXPECT_NE(r.err.find("restored"), std::string::npos) << r.err;
  const analysis::Results results = analysis::load_results(path.string());
  EXPECT_EQ(results.interrupted, true);
  std::filesystem::remove(path);
}

TEST(CliTest, CountersListsSoftwareEventsAsCounting) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user does not emulate perf_event_open (ENOSYS)");
  const auto r = run_command_line(kMemprobe + " counters");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("minor-faults"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("counts"), std::string::npos) << r.out;
}

TEST(CliTest, BenchKeepsGoogleBenchmarkJson) {
  const auto r = run_command_line(kMemprobe +
                                  " bench '--benchmark_filter=^latency/4k/4KiB/' --benchmark_format=json");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_TRUE(json.contains("context"));
  EXPECT_TRUE(json["context"].contains("memprobe_core_hz"));
  ASSERT_FALSE(json["benchmarks"].empty());
  for (const auto& b : json["benchmarks"]) {
    EXPECT_EQ(b["run_name"].get<std::string>().rfind("latency/4k/4KiB", 0), 0u) << b["run_name"];
    EXPECT_GT(b["ns_per_load"].get<double>(), 0);
  }
}

}  // namespace
}  // namespace memprobe
