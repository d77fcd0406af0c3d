// Receives Google Benchmark's runs, prints progress on stderr, and turns the
// repetitions of each case into one analysis::Case (median and spread).
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "harness/eta.h"

namespace memprobe::harness {

// One repetition of one case, as Google Benchmark reported it.
struct RawRun {
  std::string name;  // "latency/4k/1MiB"
  bool error = false;
  std::string error_message;
  std::string label;  // key=value tokens (benchmarks/case_label.h)
  std::map<std::string, double> counters;
};

class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  // The cases to run, per family (the progress line's total and its
  // estimate of the seconds left: harness/eta.h).
  CollectingReporter(std::map<std::string, std::size_t> cases_per_family, std::ostream& progress,
                     bool quick = false);
  // `total_cases` of any family (RemainingTime's unnamed family).
  CollectingReporter(std::size_t total_cases, std::ostream& progress)
      : CollectingReporter(std::map<std::string, std::size_t>{{"", total_cases}}, progress) {}
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  const std::vector<RawRun>& runs() const { return runs_; }
  std::size_t cases_done() const { return cases_done_; }
  // The run measures family by family, each sized from the ones before: the
  // cases still to come are re-counted as it goes.
  void set_cases_left(std::map<std::string, std::size_t> cases_left_per_family) {
    remaining_.set_cases_left(std::move(cases_left_per_family));
  }
  std::size_t total_cases() const { return cases_done_ + remaining_.cases_left(); }
  // Wall seconds spent on each case so far (set-up, warm-up and every
  // repetition), by case name: what a sweep that grows predicts its next
  // step from.
  const std::map<std::string, double>& case_seconds() const { return case_seconds_; }

 private:
  RemainingTime remaining_;
  std::size_t cases_done_ = 0;
  std::ostream& progress_;
  std::chrono::steady_clock::time_point last_case_end_;
  std::vector<RawRun> runs_;
  std::map<std::string, double> case_seconds_;
};

// `memprobe bench`'s display reporter: Google Benchmark's own console, JSON
// or CSV output (by --benchmark_format), telling the families where one case
// ends (bench::mark_case_finished) as the harness's reporter does.
class CaseBoundaryReporter : public benchmark::BenchmarkReporter {
 public:
  // format: "console", "json" or "csv" (anything else: console).
  explicit CaseBoundaryReporter(const std::string& format);
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
};

// Groups the repetitions by case name (first-seen order) into cases with the
// median of every counter as the metric (performance counters, named
// "counter:<column>", go to Case::counters) and the spread of the headline
// metric (ns_per_load where present; analysis::spread_of: min/median/max and
// the outlier repetitions named). Failed cases become one
// `unavailable` entry per family/page and reason.
void add_runs_to_results(const std::vector<RawRun>& runs, analysis::Results& results);

}  // namespace memprobe::harness
