// What `memprobe run` was asked to do, validated before anything is measured:
// bad input is a UsageError (one line, exit status 2), never a crash.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "core/buffer.h"
#include "core/counters.h"

namespace memprobe::harness {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunPlan {
  std::vector<std::string> families;  // in run order
  bench::CaseOptions case_options;
  std::optional<double> budget_s;     // time budget for the whole run
  std::uint64_t reserve_hugepages_2m = 0;  // --reserve-hugepages N (0: leave the pool alone)
  std::uint64_t reserve_hugepages_1g = 0;  // --reserve-hugepages-1g N
  std::optional<int> cpu;             // logical CPU to pin to; default: the last one
  std::optional<std::string> out_path;
  std::vector<core::EventSpec> counter_events;  // empty: the machine's defaults
  std::string command;                // the command line, for the results file
};

// "latency,stride" -> validated family names (unknown -> UsageError listing
// the known ones). Empty text -> every family.
std::vector<std::string> parse_family_list(const std::string& text);

// "4k,thp,2m,1g" -> policies (unknown -> UsageError naming the accepted ones).
std::vector<core::PagePolicy> parse_page_list(const std::string& text);

// "cycles,L1_DTLB_MISS" -> event specs; a name libpfm4 cannot encode (and
// that is not a software event) is a UsageError with close matches.
std::vector<core::EventSpec> parse_counter_list(const std::string& text);

// The results file's directory must exist and be writable, checked before
// measuring so a long run never ends in a lost file.
void check_output_path(const std::string& path);

}  // namespace memprobe::harness
