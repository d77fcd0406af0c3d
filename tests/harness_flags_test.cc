// Flags checked before anything runs (issue 13 rows 11, 18 and 20): `bench`
// flags Google Benchmark would only warn about, `bench --max-working-set`,
// a hugetlb reservation that no case of the run would use; and (issue 26)
// every numeric flag's value is the number and nothing else.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/units.h"
#include "harness/plan.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe::harness {
namespace {

using testing::run_command_line;

void expect_usage_error(const std::string& args, const std::vector<std::string>& words) {
  testing::expect_one_error_line(run_command_line(kMemprobe + " " + args), args, words);
}

TEST(BenchFlagsTest, BadFilterOrFormatIsAUsageError) {
  expect_usage_error("bench '--benchmark_filter=latency/(4k'", {"--benchmark_filter", "latency/(4k"});
  expect_usage_error("bench '--benchmark_filter=-[z-a]'", {"--benchmark_filter"});
  expect_usage_error("bench --benchmark_format=xyz", {"--benchmark_format", "'xyz'", "console, json, csv"});
  expect_usage_error("bench --benchmark_out_format=html", {"--benchmark_out_format", "'html'"});
  expect_usage_error("bench --max-working-set 1.5", {"--max-working-set", "'1.5'"});
  expect_usage_error("bench --max-working-set", {"--max-working-set"});
}

// Issue 26: `--fail-on-regression ''` was read as 0 % (CLI11 reads an empty
// value as 0) and ' 64MiB' as 64 MiB. Every numeric flag of every subcommand
// is found from its --help (value names N, PCT, SECONDS, SIZE), so a flag
// added later is held too; bench's --max-working-set is Google Benchmark's
// help, so it is named here.
TEST(NumericFlagsTest, EmptyBlankOrPaddedValuesAreRefusedForEveryNumericFlag) {
  const std::map<std::string, std::string> valid_value = {{"N", "1"}, {"PCT", "5"}, {"SECONDS", "5"}, {"SIZE", "1MiB"}};
  // What each subcommand needs besides the flag; the flag is refused before any of it is used.
  const std::map<std::string, std::string> rest = {{"run", "--only latency --quick"},
                                                   {"compare", "/nonexistent/a.json /nonexistent/b.json"},
                                                   {"fleet", "/nonexistent"},
                                                   {"report", "/nonexistent/a.json"}};
  std::vector<std::pair<std::string, std::string>> flags = {{"bench --max-working-set", "SIZE"}};
  // An option's line of the help starts with blanks (the footer's bench line does not).
  const std::regex numeric_option(R"(^\s+(--[a-z0-9-]+) (N|PCT|SECONDS|SIZE)\b)");
  for (const auto& [subcommand, _] : rest) {
    const auto help = run_command_line(kMemprobe + " " + subcommand + " --help");
    ASSERT_EQ(help.exit_status, 0) << subcommand;
    std::istringstream lines(help.out);
    std::smatch m;
    for (std::string line; std::getline(lines, line);)
      if (std::regex_search(line, m, numeric_option)) flags.emplace_back(subcommand + " " + m[1].str(), m[2].str());
  }
  std::vector<std::string> found;
  for (const auto& [flag, _] : flags) found.push_back(flag);
  for (const std::string known : {"run --budget", "run --cpu", "run --seed", "run --max-working-set",
                                  "run --reserve-hugepages", "run --reserve-hugepages-1g", "compare --fail-on-regression"})
    EXPECT_NE(std::find(found.begin(), found.end(), known), found.end()) << known << " not found in --help";

  for (const auto& [flag, value_name] : flags) {
    const std::string subcommand = flag.substr(0, flag.find(' '));
    const std::string valid = valid_value.at(value_name);
    for (const std::string& bad : {std::string(), std::string(" "), valid + "x", " " + valid, valid + " "}) {
      const std::string args = flag + " '" + bad + "' " + (rest.count(subcommand) ? rest.at(subcommand) : "");
      testing::expect_one_error_line(run_command_line(kMemprobe + " " + args), args,
                                     {flag.substr(flag.find(' ') + 1) + ": '" + bad + "'"});
    }
  }
}

TEST(BenchFlagsTest, ParsesMaxWorkingSetAndPassesTheRest) {
  const BenchPlan plan = parse_bench_arguments(
      {"--max-working-set", "64MiB", "--benchmark_filter=-^pagefault", "--benchmark_format=json"}, 8 * core::kGiB);
  EXPECT_EQ(plan.max_working_set_bytes, 64 * core::kMiB);
  EXPECT_EQ(plan.format, "json");
  EXPECT_EQ(plan.benchmark_args, (std::vector<std::string>{"--benchmark_filter=-^pagefault", "--benchmark_format=json"}));
  EXPECT_EQ(parse_bench_arguments({"--max-working-set=1GiB"}, 8 * core::kGiB).max_working_set_bytes, core::kGiB);
  // Checked against MemAvailable like run's.
  EXPECT_THROW(parse_bench_arguments({"--max-working-set=8GiB"}, 8 * core::kGiB), UsageError);
}

// The README's bench example stays bounded: no case beyond the cap.
TEST(BenchFlagsTest, MaxWorkingSetBoundsTheRegisteredCases) {
  const auto r = run_command_line(kMemprobe +
                                  " bench --max-working-set 8MiB '--benchmark_filter=^latency/4k/' "
                                  "--benchmark_list_tests=true");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::istringstream names(r.out);
  std::string last;
  std::size_t count = 0;
  for (std::string name; std::getline(names, name);) {
    if (name.rfind("latency/4k/", 0) != 0) continue;
    ++count;
    last = name;
  }
  ASSERT_GT(count, 0u) << r.out;
  EXPECT_EQ(last.rfind("latency/4k/8MiB/", 0), 0u) << last << ": the sweep ends at the cap";
}

// Issue 13 row 18: a reservation nothing would use is refused before
// measuring with what to add.
TEST(ReservationUseTest, ReservationWithoutAUserIsRefused) {
  RunPlan plan;
  plan.families = {"latency"};
  plan.case_options.policies = {core::PagePolicy::k4K, core::PagePolicy::kThp};
  try {
    check_reservation_used(plan, core::PagePolicy::kHugetlb2M);
    ADD_FAILURE() << "accepted a 2 MiB reservation without 2m pages";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--reserve-hugepages: no case of this run would use the hugetlb-2m pool"), std::string::npos)
        << what;
    EXPECT_NE(what.find("--pages 4k,thp,2m"), std::string::npos) << what;
  }
  EXPECT_THROW(check_reservation_used(plan, core::PagePolicy::kHugetlb1G), UsageError);

  plan.case_options.policies.push_back(core::PagePolicy::kHugetlb2M);
  EXPECT_NO_THROW(check_reservation_used(plan, core::PagePolicy::kHugetlb2M));
  // Families that choose their own pages never use the pool.
  plan.families = {"stride", "mlp", "loaded"};
  try {
    check_reservation_used(plan, core::PagePolicy::kHugetlb2M);
    ADD_FAILURE() << "accepted a reservation for families that choose their own pages";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no family of this run uses hugetlb pages"), std::string::npos) << what;
    EXPECT_NE(what.find("latency"), std::string::npos) << "names the families that would: " << what;
  }
  plan.families = {"stride", "tlb"};
  EXPECT_NO_THROW(check_reservation_used(plan, core::PagePolicy::kHugetlb2M));
}

TEST(ReservationUseTest, BinaryRefusesAnUnusedReservationBeforeTouchingThePool) {
  if (::geteuid() != 0) GTEST_SKIP() << "--reserve-hugepages needs root (not root here): refused for that first";
  if (!std::filesystem::exists("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"))
    GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  expect_usage_error("run --only latency --reserve-hugepages 8", {"--reserve-hugepages", "add 2m to --pages"});
  expect_usage_error("run --only stride --pages 2m --reserve-hugepages 8",
                     {"--reserve-hugepages", "no family of this run uses hugetlb pages"});
}

}  // namespace
}  // namespace memprobe::harness
