// `memprobe run` and `memprobe bench`: pin, fingerprint, register the
// families, run them through Google Benchmark, then tables and the results
// file. The harness owns no measurement logic.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "harness/plan.h"

namespace memprobe::harness {

// Returns the process exit status. Throws UsageError for input found bad
// only once the machine is known (e.g. --cpu 99).
int run_command(const RunPlan& plan, std::ostream& out, std::ostream& err);

// `memprobe counters`: every default event of this machine and whether it
// opens here (or why not).
int counters_command(std::ostream& out);

// Raw Google Benchmark runner over every family: `args` are passed to
// benchmark::Initialize (e.g. --benchmark_filter, --benchmark_format=json).
int bench_command(const std::vector<std::string>& args);

}  // namespace memprobe::harness
