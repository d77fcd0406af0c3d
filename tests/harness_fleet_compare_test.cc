// The compare gate and the fleet command through the binary: exit 3 on a
// regression or a flagged run, 0 otherwise, 2 for bad input; "--" splits the
// sides; JUnit goes to stdout; a directory contributes its *.json files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/kept_results.h"
#include "tests/temp_dir_test.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;

// A node's results: a kept real run's latency cases, every measurement
// scaled so that its L2 latency is about `l2_ns` (1.0 at 4 ns), THP `thp`.
// Built from measurements, since every reader derives its figures from the
// cases (analysis/loaded_run.h), not from a stored derived section.
analysis::Results node(double l2_ns, const std::string& thp = "madvise") {
  analysis::Results r = analysis::results_from_json(testing::scaled(testing::kept_latency_run(), l2_ns / 4.0));
  r.command = "memprobe run --quick";
  r.started_at = "2026-01-01T00:00:00Z";
  r.machine.cpu_model = "Test CPU";
  r.machine.logical_cpus = 8;
  r.machine.memory_bytes = 32.0 * (1 << 30);
  r.machine.host = "node";
  r.machine.kernel = "6.1.0";
  r.machine.thp_enabled = thp;
  r.machine.thp_defrag = "madvise";
  return r;
}

class FleetCompareCli : public testing::TempDirTest {
 protected:
  FleetCompareCli() : TempDirTest("memprobe-gate") {}
  std::string write(const std::string& name, const analysis::Results& r) {
    const std::string path = (dir_ / name).string();
    analysis::write_results_atomic(path, r);
    return path;
  }
};

TEST_F(FleetCompareCli, GateExitsThreeOnARegressionAndZeroOtherwise) {
  const std::string a = write("a.json", node(4.0));
  const std::string same = write("same.json", node(4.05));
  const std::string slow = write("slow.json", node(4.8));
  auto r = memprobe("compare --fail-on-regression 10 " + a + " " + slow);
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("regression gate: FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cache L2 latency_ns"), std::string::npos) << r.out;
  r = memprobe("compare --fail-on-regression 10 " + a + " " + same);
  EXPECT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("regression gate: pass"), std::string::npos) << r.out;
  // Without the gate, compare reports and exits 0 whatever it finds.
  EXPECT_EQ(memprobe("compare " + a + " " + slow).exit_status, 0);
  // JUnit on stdout, same exit status.
  r = memprobe("compare --fail-on-regression 10 --format junit " + a + " " + slow);
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("<failure"), std::string::npos);
}

TEST_F(FleetCompareCli, SeveralRunsPerSideAreSplitByDoubleDash) {
  // A's runs lie 20 % apart: B inside that spread passes, although against
  // A's first run alone it would fail.
  const std::string a1 = write("a1.json", node(4.0)), a2 = write("a2.json", node(4.8));
  const std::string b1 = write("b1.json", node(4.8)), b2 = write("b2.json", node(4.7));
  auto r = memprobe("compare --fail-on-regression 10 " + a1 + " " + a2 + " -- " + b1 + " " + b2);
  EXPECT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("A: 2 runs"), std::string::npos) << r.out;
  EXPECT_EQ(memprobe("compare --fail-on-regression 10 " + a1 + " -- " + b1).exit_status, 3);
}

TEST_F(FleetCompareCli, BadCompareInputExitsTwoWithOneLine) {
  const std::string a = write("a.json", node(4.0));
  for (const std::string& args :
       {"compare " + a, "compare " + a + " " + a + " " + a, "compare " + a + " --", "compare -- " + a,
        "compare --fail-on-regression -5 " + a + " " + a, "compare --fail-on-regression abc " + a + " " + a,
        "compare --format junit " + a + " " + a, "compare --format xml " + a + " " + a,
        "compare " + a + " " + (dir_ / "missing.json").string()}) {
    const auto r = memprobe(args);
    EXPECT_EQ(r.exit_status, 2) << args << "\n" << r.out << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << args << "\n" << r.err;
    EXPECT_EQ(r.err_lines()[0].rfind("memprobe: error: ", 0), 0u) << r.err;
  }
}

TEST_F(FleetCompareCli, FleetReadsADirectoryAndFlagsTheOddRunByFile) {
  fs::create_directories(dir_ / "fleet");
  for (int i = 0; i < 5; ++i)
    analysis::write_results_atomic((dir_ / "fleet" / ("n" + std::to_string(i) + ".json")).string(),
                                   node(4.0 + 0.02 * i, i == 3 ? "never" : "madvise"));
  const std::string dir = (dir_ / "fleet").string();
  auto r = memprobe("fleet " + dir);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_NE(r.out.find("5 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir + "/n3.json: THP enabled never (group: madvise)"), std::string::npos) << r.out;
  r = memprobe("fleet --fail-on-outlier " + dir);
  EXPECT_EQ(r.exit_status, 3) << r.out << r.err;
  r = memprobe("fleet --format json " + dir);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["flagged_runs"], 1);
  for (const char* format : {"markdown", "csv"}) EXPECT_EQ(memprobe(std::string("fleet --format ") + format + " " + dir).exit_status, 0);
  // Nothing flagged: --fail-on-outlier exits 0.
  EXPECT_EQ(memprobe("fleet --fail-on-outlier " + dir + "/n0.json " + dir + "/n1.json " + dir + "/n2.json").exit_status, 0);
}

TEST_F(FleetCompareCli, BadFleetInputExitsTwoWithOneLine) {
  fs::create_directories(dir_ / "empty");
  for (const std::string& args : {std::string("fleet"), "fleet " + (dir_ / "empty").string(),
                                  "fleet " + (dir_ / "none.json").string(), "fleet --format xml " + dir_.string()}) {
    const auto r = memprobe(args);
    EXPECT_EQ(r.exit_status, 2) << args << "\n" << r.out << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << args << "\n" << r.err;
    EXPECT_EQ(r.err_lines()[0].rfind("memprobe: error: ", 0), 0u) << r.err;
  }
}

}  // namespace
}  // namespace memprobe
