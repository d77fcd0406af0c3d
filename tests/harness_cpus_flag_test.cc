// `memprobe run --cpus LIST` (the CPUs the c2c family pairs): parsed as
// strictly as every numeric flag (harness/numeric_flags.h), and a CPU
// outside the process's mask is a one-line error with exit status 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "analysis/families/c2c.h"
#include "analysis/results_json.h"
#include "core/topology.h"
#include "harness/numeric_flags.h"
#include "harness/plan.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe::harness {
namespace {

const std::vector<int> kAllowed = {0, 1, 2, 3, 8};

TEST(CpusFlagTest, ListsAndRanges) {
  EXPECT_EQ(parse_cpu_list("--cpus", "0", kAllowed, "0-3,8"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("--cpus", "0-3,8", kAllowed, "0-3,8"), (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(parse_cpu_list("--cpus", "8,1,1-2", kAllowed, "0-3,8"), (std::vector<int>{1, 2, 8}));
  EXPECT_EQ(parse_cpu_list("--cpus", "2-2", kAllowed, "0-3,8"), (std::vector<int>{2}));
}

TEST(CpusFlagTest, MalformedIsRefusedNamingTheFlagAndText) {
  for (const char* bad : {"", " 1", "1 ", "1,", ",1", "1,,2", "a", "1x", "-1", "3-1", "1-", "-", "+1", "1.0", "0x1",
                          "1--2", "99999999999999999999"}) {
    try {
      parse_cpu_list("--cpus", bad, kAllowed, "0-3,8");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--cpus: '" + std::string(bad) + "' is not a CPU list"), std::string::npos)
          << e.what();
    }
  }
}

TEST(CpusFlagTest, ACpuOutsideTheMaskIsRefused) {
  try {
    parse_cpu_list("--cpus", "0-5", kAllowed, "0-3,8");
    ADD_FAILURE() << "accepted CPU 4";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--cpus: CPU 4 is outside the CPUs this process may run on: 0-3,8");
  }
}

TEST(CpusFlagTest, TheCommandRefusesACpuOutsideTheMaskInOneLine) {
  const std::string command =
      kMemprobe + " run --only c2c --quick --cpus " + std::to_string(core::inherited_cpus().front()) + ",100000";
  testing::expect_one_error_line(testing::run_command_line(command), command,
                                 {"--cpus", "CPU 100000 is outside", core::inherited_cpus_list()});
  const std::string malformed = kMemprobe + " run --only c2c --quick --cpus 1-";
  testing::expect_one_error_line(testing::run_command_line(malformed), malformed, {"--cpus", "'1-'"});
}

TEST(CpusFlagTest, OneCpuMakesTheFamilyUnavailable) {
  const std::string one = std::to_string(core::inherited_cpus().front());
  const auto dir = testing::make_temp_dir("memprobe-cpus");
  const auto file = dir / "r.json";
  const auto run = testing::run_command_line(kMemprobe + " run --only c2c --quick --cpus " + one + " --out " +
                                             file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("needs two CPUs: --cpus names only CPU " + one), std::string::npos) << run.out;
  EXPECT_TRUE(analysis::c2c_rows(analysis::load_results(file.string())).empty());
  std::filesystem::remove_all(dir);
}

TEST(CpusFlagTest, TwoCpusPairOnlyThose) {
  const std::vector<int>& cpus = core::inherited_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs: this process may run only on " << core::inherited_cpus_list();
  const std::string list = std::to_string(cpus[0]) + "," + std::to_string(cpus[1]);
  const auto dir = testing::make_temp_dir("memprobe-cpus2");
  const auto file = dir / "r.json";
  const auto run =
      testing::run_command_line(kMemprobe + " run --only c2c --quick --cpus " + list + " --out " + file.string());
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const auto rows = analysis::c2c_rows(analysis::load_results(file.string()));
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_TRUE(row.a_cpu == cpus[0] || row.a_cpu == cpus[1]);
    EXPECT_TRUE(row.b_cpu == cpus[0] || row.b_cpu == cpus[1]);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace memprobe::harness
