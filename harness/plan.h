// What `memprobe run` was asked to do, validated before anything is measured:
// bad input is a UsageError (one line, exit status 2), never a crash.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
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

// Free space (and RLIMIT_FSIZE) --out needs before a run starts: twice the
// largest results file seen so far (about 0.5 MiB for a full run of ~600
// cases). A smaller file still fails cleanly at the end if space runs out.
inline constexpr std::uint64_t kResultsFileReserveBytes = 1024 * 1024;

// Everything that could make writing --out fail at the end, checked before
// measuring so a long run never ends in a lost file. UsageError if: the path
// exists and is not a regular file (/dev/null, /dev/full, a FIFO, a
// symbolic link, a directory: only a regular file is ever replaced); its
// directory does not exist, is on /proc, /sys or another kernel interface,
// or this process cannot create a file there; the temporary file's name
// (analysis::atomic_write_temp_path) exceeds NAME_MAX or its path PATH_MAX;
// the existing file cannot be renamed over (immutable, append-only, another
// user's file in a sticky directory); less than kResultsFileReserveBytes of
// space or of RLIMIT_FSIZE.
void check_output_path(const std::string& path);

// Why no file can be created in the existing directory `dir` by this process
// now, as strerror text ("Read-only file system", "Permission denied"), or
// nullopt if one can. Tries it (an unnamed O_TMPFILE, which leaves nothing
// behind), so a read-only filesystem is caught for root too, and a 0555
// directory is writable for root (it is) and not for anyone else.
std::optional<std::string> directory_write_problem(const std::string& dir);

// --max-working-set below this is refused: the latency sweep starts at 4 KiB
// and needs points beyond every L1 data cache (32-48 KiB today); the loaded
// family's background readers read 64 KiB chunks.
inline constexpr std::uint64_t kMinMaxWorkingSetBytes = 64 * 1024;

// The largest --max-working-set a run may use when `mem_available_bytes`
// (MemAvailable) is free now: half of it (plan.cc says why).
std::uint64_t max_working_set_limit(std::uint64_t mem_available_bytes);

// The default max working set (bench::default_max_working_set_bytes) when
// MemAvailable cannot hold it: the limit, in whole 2 MiB pages (base pages
// below 2 MiB; at least kMinMaxWorkingSetBytes); nullopt when the default fits or MemAvailable is
// unknown. The run then uses it as if --max-working-set had said so.
std::optional<std::uint64_t> clamp_default_max_working_set(std::uint64_t default_bytes,
                                                           std::optional<std::uint64_t> mem_available_bytes);

// --max-working-set SIZE (core::parse_bytes: "512KiB", "64M", "1.5GiB") ->
// bytes. UsageError naming `text` if it is not a size, below
// kMinMaxWorkingSetBytes, not a whole number of base pages (core::base_page_bytes), or above
// max_working_set_limit(*mem_available_bytes) (not checked when MemAvailable
// is unknown). Nothing is allocated before this check.
std::uint64_t parse_max_working_set(const std::string& text, std::optional<std::uint64_t> mem_available_bytes);

// What `memprobe bench ARGS` was asked: --max-working-set SIZE (memprobe's
// own, parsed like run's) taken out, everything else for Google Benchmark.
struct BenchPlan {
  std::vector<std::string> benchmark_args;  // for benchmark::Initialize
  std::string format = "console";           // --benchmark_format
  std::uint64_t max_working_set_bytes = 0;  // 0: each family's default
};

// Validates what Google Benchmark would only warn about (and then exit 0):
// --benchmark_filter must compile as its POSIX extended regular expression
// (a leading '-' negates), --benchmark_format and --benchmark_out_format
// must be console, json or csv. UsageError naming the flag otherwise.
BenchPlan parse_bench_arguments(const std::vector<std::string>& args, std::optional<std::uint64_t> mem_available_bytes);

// A flag's whole non-negative integer ("--seed", "42"): digits only, no sign,
// no fraction, no overflow; UsageError naming the flag and the text.
std::uint64_t parse_count(std::string_view flag, const std::string& text);

// --reserve-hugepages N: growing the pool from `pool_pages` to `pages` takes
// (pages - pool_pages) pages from MemAvailable at once, and the kernel
// grants what it can, so a typo could leave the system without memory.
// UsageError with both figures if the growth is more than 3/4 of
// `mem_available_bytes`; nothing when the pool already has `pages`.
void check_reservation_fits(std::string_view flag, std::size_t page_bytes, std::uint64_t pages,
                            std::uint64_t pool_pages, std::uint64_t mem_available_bytes);

// A reservation no case of the plan would use is refused (UsageError saying
// what to add): `policy` (hugetlb-2m or -1g) is not in --pages, or no family
// of the run follows --pages (bench::Family::follows_page_list).
void check_reservation_used(const RunPlan& plan, core::PagePolicy policy);

// Every check of a plan that asks the system, before anything is measured or
// allocated: --out (check_output_path), and for --reserve-hugepages and
// --reserve-hugepages-1g root, that the kernel has that pool, that the
// growth fits in memory (check_reservation_fits) and that a case uses it
// (check_reservation_used). UsageError.
void validate_plan(const RunPlan& plan);

}  // namespace memprobe::harness
