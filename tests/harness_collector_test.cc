#include "harness/collector.h"

#include <gtest/gtest.h>

namespace memprobe::harness {
namespace {

RawRun repetition(const std::string& name, double ns, const std::string& label) {
  RawRun r;
  r.name = name;
  r.label = label;
  r.counters["ns_per_load"] = ns;
  r.counters["cycles_per_load"] = ns * 3;
  return r;
}

TEST(CollectorTest, RepetitionsBecomeOneCaseWithMedianAndSpread) {
  const std::string label = "backing=thp huge_fraction=1.000 page=thp working_set_bytes=1048576 tlb_method=huge-pages";
  std::vector<RawRun> runs{repetition("latency/thp/1MiB", 5.0, label), repetition("latency/thp/1MiB", 4.0, label),
                           repetition("latency/thp/1MiB", 9.0, label)};
  analysis::Results results;
  add_runs_to_results(runs, results);
  ASSERT_EQ(results.cases.size(), 1u);
  const analysis::Case& c = results.cases[0];
  EXPECT_EQ(c.family, "latency");
  EXPECT_EQ(c.name, "latency/thp/1MiB");
  EXPECT_EQ(c.metrics.at("ns_per_load"), 5.0);
  EXPECT_EQ(c.metrics.at("cycles_per_load"), 15.0);
  EXPECT_EQ(c.spread.repetitions, 3);
  EXPECT_EQ(c.spread.min, 4.0);
  EXPECT_EQ(c.spread.median, 5.0);
  EXPECT_EQ(c.spread.max, 9.0);
  EXPECT_EQ(c.params.at("working_set_bytes"), 1048576);
  EXPECT_EQ(c.params.at("page"), "thp");
  EXPECT_FALSE(c.params.contains("backing"));
  EXPECT_EQ(c.backing.requested, "thp");
  EXPECT_EQ(c.backing.verified, "thp");
  EXPECT_DOUBLE_EQ(c.backing.huge_fraction, 1.0);
}

TEST(CollectorTest, TightRepetitionsAreNotNoisy) {
  std::vector<RawRun> runs{repetition("a/4k/x", 10.0, ""), repetition("a/4k/x", 10.5, ""),
                           repetition("a/4k/x", 10.2, "")};
  analysis::Results results;
  add_runs_to_results(runs, results);
  EXPECT_FALSE(results.cases.at(0).spread.noisy);
}

TEST(CollectorTest, EvenRepetitionCountTakesMiddleMean) {
  std::vector<RawRun> runs{repetition("a/4k/x", 1, ""), repetition("a/4k/x", 2, ""), repetition("a/4k/x", 3, ""),
                           repetition("a/4k/x", 10, "")};
  analysis::Results results;
  add_runs_to_results(runs, results);
  EXPECT_EQ(results.cases.at(0).metrics.at("ns_per_load"), 2.5);
}

TEST(CollectorTest, FailedCasesBecomeOneUnavailableEntryPerFamilyPageAndReason) {
  std::vector<RawRun> runs;
  for (const char* size : {"4KiB", "8KiB", "16KiB"}) {
    RawRun r;
    r.name = std::string("latency/hugetlb-2m/") + size;
    r.error = true;
    r.error_message = "no free 2 MiB hugetlb pages";
    runs.push_back(r);
  }
  runs.push_back(repetition("latency/4k/4KiB", 1.0, "page=4k"));
  analysis::Results results;
  add_runs_to_results(runs, results);
  ASSERT_EQ(results.unavailable.size(), 1u);
  EXPECT_EQ(results.unavailable[0].what, "latency/hugetlb-2m");
  EXPECT_EQ(results.unavailable[0].reason, "no free 2 MiB hugetlb pages");
  ASSERT_EQ(results.cases.size(), 1u);
  EXPECT_EQ(results.cases[0].name, "latency/4k/4KiB");
}

TEST(CollectorTest, PerformanceCountersGoToCountersNotMetrics) {
  RawRun a = repetition("latency/4k/4KiB", 1.0, "page=4k");
  a.counters["counter:minor_faults_per_access"] = 0.0;
  a.counters["counter:l1d_misses_per_access"] = 0.5;
  RawRun b = a;
  b.counters["counter:l1d_misses_per_access"] = 0.7;
  RawRun c = a;
  c.counters["counter:l1d_misses_per_access"] = 0.6;
  analysis::Results results;
  add_runs_to_results({a, b, c}, results);
  const analysis::Case& only = results.cases.at(0);
  EXPECT_EQ(only.counters.at("l1d_misses_per_access"), 0.6);
  EXPECT_EQ(only.counters.at("minor_faults_per_access"), 0.0);
  EXPECT_EQ(only.metrics.count("counter:l1d_misses_per_access"), 0u);
  EXPECT_EQ(only.metrics.size(), 2u);
}

TEST(CollectorTest, KeepsFirstSeenOrder) {
  std::vector<RawRun> runs{repetition("l/4k/b", 1, ""), repetition("l/4k/a", 1, ""), repetition("l/4k/b", 1, "")};
  analysis::Results results;
  add_runs_to_results(runs, results);
  ASSERT_EQ(results.cases.size(), 2u);
  EXPECT_EQ(results.cases[0].name, "l/4k/b");
  EXPECT_EQ(results.cases[1].name, "l/4k/a");
}

}  // namespace
}  // namespace memprobe::harness
