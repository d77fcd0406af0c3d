// Runs one tiny case of each of the tlb, pagewalk and stride families (a
// stride walk, the line probe) through
// `memprobe bench` and checks the JSON: every case either reports a positive
// ns_per_load with its label, or is an error with a message (e.g. a hugetlb
// sweep cut for an empty pool). A property, never a timing threshold.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "tests/command_runner.h"

namespace memprobe {
namespace {

using testing::run_command_line;

void expect_cases_ok(const std::string& filter, std::size_t at_least) {
  const auto r = run_command_line(kMemprobe + " bench --benchmark_filter='" + filter +
                                  "' --benchmark_format=json --benchmark_min_time=0.01");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  const auto& benchmarks = doc.at("benchmarks");
  EXPECT_GE(benchmarks.size(), at_least) << filter;
  for (const auto& b : benchmarks) {
    const std::string name = b.at("name");
    if (b.value("error_occurred", false)) {
      EXPECT_FALSE(b.value("error_message", std::string()).empty()) << name;
      continue;
    }
    ASSERT_TRUE(b.contains("ns_per_load")) << name;
    EXPECT_GT(b.at("ns_per_load").get<double>(), 0) << name;
    EXPECT_NE(b.value("label", std::string()).find("page="), std::string::npos) << name;
  }
}

TEST(TlbSmokeTest, PageSpreadAndReferenceCasesReport) {
  expect_cases_ok("^tlb/(4k|reference)/pages:8(/|$)", 2);
}

TEST(TlbSmokeTest, CutSweepsAreErrorsWithAReason) {
  // Registered for every policy by `bench`; with an empty or short pool (or
  // the memory budget) a cut sweep is one error case naming the reason.
  const auto r = run_command_line(kMemprobe + " bench --benchmark_filter='^tlb/.*/skipped' --benchmark_format=json");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const nlohmann::json document = nlohmann::json::parse(r.out);  // the loop borrows from it
  for (const auto& b : document.at("benchmarks")) {
    EXPECT_TRUE(b.value("error_occurred", false)) << b.dump();
    EXPECT_NE(b.value("error_message", std::string()).find("sweep cut at"), std::string::npos) << b.dump();
  }
}

TEST(TlbSmokeTest, StrideAndPagewalkCasesReport) {
  expect_cases_ok("^stride/[0-9]+MiB/stride:(64|128)(/|$)|^pagewalk/4k/l2hit/", 2);
}

TEST(TlbSmokeTest, LineProbeCasesReport) {
  expect_cases_ok("^stride/line_probe/offset:(8|64)(/|$)", 2);
}

}  // namespace
}  // namespace memprobe
