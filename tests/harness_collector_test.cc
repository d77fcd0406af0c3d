#include "harness/collector.h"

#include <gtest/gtest.h>

#include "analysis/compare.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"
#include "tests/kvm_machine.h"

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

// Issue 26: a SIGSTOP of 5 s during one repetition of an 8.9 ns case made its
// max 11559 ns, and compare's "within noise" interval (min..max) then held
// any B. That repetition is named an outlier, kept out of the outlier-free
// range every noise interval is made of, and listed in the report; a file
// written before outliers were named compares as it did.
TEST(CollectorTest, PausedRepetitionIsANamedOutlierAndWidensNoNoiseInterval) {
  const std::string name = "latency/4k/1MiB";
  const std::string label = "page=4k working_set_bytes=1048576 backing=4k";
  const auto run_of = [&](std::vector<double> ns) {
    std::vector<RawRun> runs;
    for (const double v : ns) runs.push_back(repetition(name, v, label));
    analysis::Results results;
    results.machine = analysis::testing::kvm_amd_machine("AMD EPYC 7B13", "6.1.0-18-cloud-amd64", 2.45e9, 3.2e9);
    add_runs_to_results(runs, results);
    return results;
  };
  const double paused_ns = 8.9 * 1000;
  const analysis::Results a = run_of({8.90, 8.93, paused_ns, 8.88, 8.91});
  const analysis::Spread& spread = a.cases.at(0).spread;
  EXPECT_EQ(spread.repetitions, 5);
  EXPECT_EQ(spread.outliers, 1);
  EXPECT_EQ(spread.max, paused_ns) << "every repetition is still in min..max";
  ASSERT_TRUE(spread.outlier_free_min && spread.outlier_free_max);
  EXPECT_EQ(*spread.outlier_free_min, 8.88);
  EXPECT_EQ(*spread.outlier_free_max, 8.93);
  EXPECT_LT(analysis::spread_pct(spread), 1.0) << "the spread without the paused repetition is 0.6 %";
  EXPECT_FALSE(spread.noisy) << "the pause is named as an outlier, not counted as noise";
  // Noise of the figure, however far from the others, names no outlier: a
  // repetition 1.6x the median, and one of three repetitions 1.4x it.
  EXPECT_EQ(run_of({8.9, 14.2, 8.9, 8.9, 8.9}).cases.at(0).spread.outliers, 0);
  EXPECT_EQ(run_of({6.769, 6.77, 9.294}).cases.at(0).spread.outliers, 0);

  const std::string report = analysis::render_sections(a);
  EXPECT_NE(report.find("outlier repetitions: " + name + ": 1 of 5"), std::string::npos) << report;

  // The field survives the file; B is 12 % slower with tight repetitions.
  const analysis::Results a_read = analysis::results_from_json(analysis::to_json(a));
  EXPECT_EQ(a_read.cases.at(0).spread.outliers, 1);
  EXPECT_EQ(a_read.cases.at(0).spread.outlier_free_max, spread.outlier_free_max);
  const analysis::Results b = run_of({9.98, 10.0, 9.99, 10.01, 10.02});
  const analysis::CaseComparison slower = analysis::compare_results(a_read, b).cases.at(0);
  EXPECT_EQ(slower.verdict, analysis::Verdict::kSlower) << "the paused repetition widened A's interval to B";
  ASSERT_TRUE(slower.spread_a_pct);
  EXPECT_LT(*slower.spread_a_pct, 1.0);

  // A file without the outlier fields: its min..max is the interval, as before.
  nlohmann::json old_file = analysis::to_json(a);
  for (auto& c : old_file["cases"]) {
    c["spread"].erase("outliers");
    c["spread"].erase("outlier_free_min");
    c["spread"].erase("outlier_free_max");
  }
  const analysis::Results a_old = analysis::results_from_json(old_file);
  EXPECT_EQ(a_old.cases.at(0).spread.outliers, 0);
  EXPECT_EQ(analysis::compare_results(a_old, b).cases.at(0).verdict, analysis::Verdict::kWithinNoise);
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
