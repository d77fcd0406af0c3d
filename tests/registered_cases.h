// The case names a benchmark family registers, as Google Benchmark lists
// them (--benchmark_list_tests): registration only, nothing is timed.
#pragma once

#include <benchmark/benchmark.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/family.h"
#include "core/machine.h"

namespace memprobe::testing {

inline std::vector<std::string> registered_case_names(std::string_view family, const bench::CaseOptions& options) {
  benchmark::ClearRegisteredBenchmarks();
  bench::find_family(family)->register_cases(core::fingerprint(/*calibrate=*/false), options);
  int argc = 2;
  char arg0[] = "test";
  char arg1[] = "--benchmark_list_tests=true";
  char* argv[] = {arg0, arg1, nullptr};
  benchmark::Initialize(&argc, argv);
  std::ostringstream listed;
  benchmark::ConsoleReporter reporter;
  reporter.SetOutputStream(&listed);
  reporter.SetErrorStream(&listed);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  std::vector<std::string> names;
  std::istringstream lines(listed.str());
  for (std::string line; std::getline(lines, line);) names.push_back(line);
  return names;
}

}  // namespace memprobe::testing
