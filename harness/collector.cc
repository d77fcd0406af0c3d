#include "harness/collector.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "analysis/results.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/region_counters.h"

namespace memprobe::harness {
namespace {

// The first `parts` '/'-separated components: ("latency/4k/1MiB", 2) -> "latency/4k".
std::string name_prefix(const std::string& name, int parts) {
  std::size_t end = 0;
  for (int i = 0; i < parts; ++i) {
    end = name.find('/', i == 0 ? 0 : end + 1);
    if (end == std::string::npos) return name;
  }
  return name.substr(0, end);
}

nlohmann::json label_value(const std::string& text) {
  std::int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (ec == std::errc{} && end == text.data() + text.size()) return integer;
  // A seed above 2^63 stays an exact unsigned integer, not a rounded double.
  std::uint64_t natural = 0;
  auto [end1, ec1] = std::from_chars(text.data(), text.data() + text.size(), natural);
  if (ec1 == std::errc{} && end1 == text.data() + text.size()) return natural;
  double real = 0;
  auto [end2, ec2] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (ec2 == std::errc{} && end2 == text.data() + text.size()) return real;
  return text;
}

}  // namespace

CollectingReporter::CollectingReporter(std::map<std::string, std::size_t> cases_per_family, std::ostream& progress,
                                       bool quick)
    : remaining_(quick), progress_(progress), last_case_end_(std::chrono::steady_clock::now()) {
  remaining_.set_cases_left(std::move(cases_per_family));
}

bool CollectingReporter::ReportContext(const Context&) { return true; }

void CollectingReporter::ReportRuns(const std::vector<Run>& runs) {
  bench::mark_case_finished();
  std::string last_name;
  std::vector<double> ns;
  std::size_t repetitions = 0;
  for (const Run& run : runs) {
    if (run.run_type != Run::RT_Iteration) continue;  // memprobe computes its own statistics
    RawRun raw;
    // The case's own name, without the "/min_time:.../repeats:..." suffixes
    // Google Benchmark appends.
    raw.name = run.run_name.function_name;
    if (!run.run_name.args.empty()) raw.name += "/" + run.run_name.args;
    raw.error = run.error_occurred;
    raw.error_message = run.error_message;
    raw.label = run.report_label;
    if (raw.label.rfind(bench::kFailedLabelPrefix, 0) == 0) {
      // A later repetition failed (bench::fail_case): the case is unavailable.
      raw.error = true;
      raw.error_message = raw.label.substr(bench::kFailedLabelPrefix.size());
      raw.label.clear();
    }
    for (const auto& [key, counter] : run.counters) raw.counters[key] = counter.value;
    if (auto it = raw.counters.find("ns_per_load"); it != raw.counters.end()) ns.push_back(it->second);
    last_name = raw.name;
    runs_.push_back(std::move(raw));
    ++repetitions;
  }
  if (last_name.empty()) return;
  ++cases_done_;
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_case_end_).count();
  remaining_.case_done(family_of_case(last_name), seconds);
  case_seconds_[last_name] += seconds;
  last_case_end_ = now;
  std::string figure;
  bool failed = false;
  for (auto r = runs_.end() - static_cast<std::ptrdiff_t>(repetitions); r != runs_.end(); ++r) failed |= r->error;
  if (runs_.back().error && runs_.back().error_message == bench::kInterruptedMessage) return;
  if (failed) figure = "unavailable";
  else if (!ns.empty()) figure = fmt::format("{:.2f} ns/load", analysis::median_of(ns));
  progress_ << fmt::format("[{}/{}] {:<28} {:<16} {:.1f} s left\n", cases_done_, total_cases(), last_name,
                           figure, std::max(0.0, remaining_.seconds_left()))
            << std::flush;
}

CaseBoundaryReporter::CaseBoundaryReporter(const std::string& format) {
  if (format == "json") inner_ = std::make_unique<benchmark::JSONReporter>();
  else if (format == "csv") {
    // Deprecated upstream, still what --benchmark_format=csv asks for in 1.7.1.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    inner_ = std::make_unique<benchmark::CSVReporter>();
#pragma GCC diagnostic pop
  }
  else inner_ = std::make_unique<benchmark::ConsoleReporter>();
}

bool CaseBoundaryReporter::ReportContext(const Context& context) {
  inner_->SetOutputStream(&GetOutputStream());
  inner_->SetErrorStream(&GetErrorStream());
  return inner_->ReportContext(context);
}

void CaseBoundaryReporter::ReportRuns(const std::vector<Run>& runs) {
  bench::mark_case_finished();
  inner_->ReportRuns(runs);
}

void CaseBoundaryReporter::Finalize() { inner_->Finalize(); }

void add_runs_to_results(const std::vector<RawRun>& runs, analysis::Results& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const RawRun*>> by_name;
  for (const RawRun& run : runs) {
    auto [it, inserted] = by_name.try_emplace(run.name);
    if (inserted) order.push_back(run.name);
    it->second.push_back(&run);
  }
  std::map<std::pair<std::string, std::string>, bool> unavailable_seen;
  for (const std::string& name : order) {
    const std::vector<const RawRun*>& reps = by_name[name];
    const RawRun* failed = nullptr;
    for (const RawRun* r : reps)
      if (r->error) failed = r;
    if (failed && failed->error_message == bench::kInterruptedMessage) continue;  // never ran
    if (failed) {
      const std::string what = name_prefix(name, 2);
      if (!unavailable_seen[{what, failed->error_message}]) {
        unavailable_seen[{what, failed->error_message}] = true;
        results.unavailable.push_back({what, failed->error_message});
      }
      continue;
    }
    analysis::Case c;
    c.name = name;
    c.family = name_prefix(name, 1);
    const auto label = bench::parse_case_label(reps.front()->label);
    for (const auto& [key, value] : label) {
      if (key == "backing" || key == "huge_fraction") continue;
      c.params[key] = label_value(value);
    }
    c.backing.requested = label.count("page") ? label.at("page") : "";
    c.backing.verified = label.count("backing") ? label.at("backing") : "";
    c.backing.huge_fraction = label.count("huge_fraction") ? std::stod(label.at("huge_fraction")) : 0.0;

    std::map<std::string, std::vector<double>> samples;
    for (const RawRun* r : reps)
      for (const auto& [key, value] : r->counters) samples[key].push_back(value);
    const std::string prefix = bench::kCounterPrefix;
    for (auto& [key, values] : samples) {
      if (key.rfind(prefix, 0) == 0) c.counters[key.substr(prefix.size())] = analysis::median_of(values);
      else c.metrics[key] = analysis::median_of(values);
    }
    const std::string headline = analysis::headline_metric(c);
    if (!headline.empty()) c.spread = analysis::spread_of(samples[headline]);
    results.cases.push_back(std::move(c));
  }
}

}  // namespace memprobe::harness
