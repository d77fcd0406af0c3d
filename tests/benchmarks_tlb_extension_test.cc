// The tlb family's extension steps (CaseOptions::tlb_pages_above/up_to):
// the harness grows the base-page sweep an octave at a time past its first
// sweep, so a step registers base-page points of its window only, each with
// its reference, and nothing else. Registration only: nothing is timed.
#include <benchmark/benchmark.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "tests/registered_cases.h"

namespace memprobe {
namespace {

// "tlb/4k/pages:512/min_time:..." -> {"4k", 512}, per registered case.
std::vector<std::pair<std::string, std::uint64_t>> registered_tlb_cases(const bench::CaseOptions& options) {
  std::vector<std::pair<std::string, std::uint64_t>> cases;
  for (const std::string& line : testing::registered_case_names("tlb", options)) {
    const auto page_end = line.find('/', 4);
    const auto pages_at = line.find("/pages:");
    if (line.rfind("tlb/", 0) != 0 || page_end == std::string::npos || pages_at == std::string::npos) {
      cases.emplace_back(line, 0);
      continue;
    }
    cases.emplace_back(line.substr(4, page_end - 4), std::stoull(line.substr(pages_at + 7)));
  }
  return cases;
}

TEST(TlbExtensionTest, AStepRegistersOnlyBasePagePointsOfItsWindowEachWithItsReference) {
  bench::CaseOptions options;
  options.policies = {core::PagePolicy::kThp, core::PagePolicy::k4K};
  options.tlb_pages_above = 16384;
  options.tlb_pages_up_to = 32768;
  std::map<std::string, std::vector<std::uint64_t>> pages_by_kind;
  for (const auto& [kind, pages] : registered_tlb_cases(options)) {
    pages_by_kind[kind].push_back(pages);
    EXPECT_GT(pages, 16384u) << kind;
    EXPECT_LE(pages, 32768u) << kind;
  }
  ASSERT_EQ(pages_by_kind.size(), 2u) << "base pages and their references only";
  EXPECT_GE(pages_by_kind["4k"].size(), 2u) << "at least two points in an octave";
  EXPECT_EQ(pages_by_kind["4k"], pages_by_kind["reference"]);
  EXPECT_EQ(pages_by_kind["4k"].back(), 32768u) << "the window's top is a point";
}

TEST(TlbExtensionTest, TheFirstSweepCoversEveryPolicyFromItsSmallestPoint) {
  bench::CaseOptions options;
  options.policies = {core::PagePolicy::k4K, core::PagePolicy::kThp};
  std::map<std::string, std::uint64_t> smallest, largest;
  for (const auto& [kind, pages] : registered_tlb_cases(options)) {
    if (pages == 0) continue;  // a cut sweep's "skipped" case
    smallest.try_emplace(kind, pages);
    smallest[kind] = std::min(smallest[kind], pages);
    largest[kind] = std::max(largest[kind], pages);
  }
  EXPECT_TRUE(smallest.contains("4k"));
  EXPECT_TRUE(smallest.contains("reference"));
  EXPECT_EQ(smallest["4k"], 8u);
  EXPECT_GE(largest["4k"], 16384u) << "base pages go at least this far whatever CPUID says";
}

}  // namespace
}  // namespace memprobe
