// `memprobe run` and `memprobe bench`: pin, fingerprint, register the
// families, run them through Google Benchmark, then tables and the results
// file. The harness owns no measurement logic.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "harness/plan.h"

namespace memprobe::harness {

// Shortest repetition memprobe allows: below ~1 ms a sample is dominated by
// timer and scheduling noise on a shared machine.
inline constexpr double kMinRepetitionTimeS = 0.001;

// Per-repetition minimum time that fits `cases` cases of `options.repetitions`
// repetitions into budget_s seconds, between kMinRepetitionTimeS and
// options.min_time_s (the default is never lengthened).
double min_time_for_budget(double budget_s, std::size_t cases, const bench::CaseOptions& options);

// Returns the process exit status (130 when interrupted by a terminating
// signal, harness/signals.h: the completed cases are kept and written). The
// results file is written before the tables are printed; a failed write
// throws (exit 1) after the tables. Throws UsageError for input found bad
// only once the machine is known (e.g. --cpu 99).
int run_command(const RunPlan& plan, std::ostream& out, std::ostream& err);

// `memprobe counters`: every default event of this machine and whether it
// opens here (or why not).
int counters_command(std::ostream& out);

// "memprobe 0.1.0 (git 6c2089d)": the version and the git revision built.
std::string version_text();

// Raw Google Benchmark runner over every family: `args` are checked and
// split by parse_bench_arguments (plan.h: --max-working-set SIZE caps the
// working sets), the rest passed to benchmark::Initialize (e.g.
// --benchmark_filter, --benchmark_format=json). UsageError for bad flags.
int bench_command(const std::vector<std::string>& args);

}  // namespace memprobe::harness
