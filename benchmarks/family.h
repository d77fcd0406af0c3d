// The registry of benchmark families. A family is one .cc file that registers
// its Google Benchmark cases once the machine is known (sweep points come from
// the topology, not from constants), so it hands a function to this registry
// instead of using static BENCHMARK() macros.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/case_protocol.h"
#include "benchmarks/timed_chase.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/machine.h"
#include "core/result.h"

namespace memprobe::bench {

// What this run has measured so far, filled in by the harness as families
// finish (latency first, then tlb): families that pick a working set per
// level size it from these, and fall back to the reported topology (hwloc,
// CPUID) only where a figure is missing. Reported sizes are claims: a guest
// can see a fraction of the L3 CPUID names, and CPUID's TLB fields overflow.
// A level's latency figure, where on the latency curve it was read: the
// working set of the point nearest the figure, on the curve the cache table
// used.
struct LevelFigure {
  std::string level;  // "L1", ..., "DRAM"
  std::uint64_t working_set_bytes = 0;
};

// A cache level's detected capacity (the latency curve's knee), which the
// drift family re-checks at the end of the run.
struct LevelKnee {
  std::string level;  // "L1", "L2", "L3"
  std::uint64_t detected_bytes = 0;
};

struct MeasuredSizes {
  std::vector<std::uint64_t> cache_bytes;  // detected capacity per data cache level, innermost first
  std::uint64_t dram_from_bytes = 0;       // smallest working set on the DRAM plateau; 0: not shown
  std::uint64_t l1_dtlb_entries_4k = 0;    // detected 4 KiB DTLB entries; 0: not measured
  std::uint64_t l2_dtlb_entries_4k = 0;
  // The latency family's level figures (drift re-measures them), on the
  // curve of latency_page ("4k", "thp", ...). Empty: latency did not run.
  std::string latency_page;
  std::vector<LevelFigure> level_figures;
  // The cache levels' knees on that curve (only once it has shown DRAM, as
  // cache_bytes; levels without a knee left out), innermost first: drift
  // re-checks each just below and just above.
  std::vector<LevelKnee> level_knees;
  // Without cache_bytes (no DRAM plateau shown): a bound on every cache
  // level (analysis::SizingFigures::cache_bound_bytes); 0: none.
  std::uint64_t cache_bound_bytes = 0;
};

// What the harness (or `memprobe bench`) asks the families for.
struct CaseOptions {
  std::vector<core::PagePolicy> policies = {core::PagePolicy::k4K, core::PagePolicy::kThp};
  bool quick = false;           // fewer sweep points and repetitions
  // Per case; the harness reports median and spread. 0 leaves it to Google
  // Benchmark's --benchmark_repetitions (memprobe bench).
  int repetitions = 5;
  double min_time_s = 0.01;     // per repetition (MinTime); 0: --benchmark_min_time
  std::uint64_t seed = core::kDefaultChainSeed;
  // --max-working-set: the largest working set any case uses (the latency
  // sweep's top). 0: each family's default, derived from the caches.
  std::uint64_t max_working_set_bytes = 0;
  // The latency sweep's window: working sets in (sweep_above_bytes,
  // sweep_up_to_bytes]. The harness grows the sweep an octave at a time until
  // the curve has shown DRAM (analysis/levels.h); 0 and 0: the whole sweep.
  std::uint64_t sweep_above_bytes = 0;
  std::uint64_t sweep_up_to_bytes = 0;
  // The tlb family's extension steps: only base-page sweep points in
  // (tlb_pages_above, tlb_pages_up_to] and their references. The harness
  // extends the base-page sweep an octave at a time until its curve has gone
  // two octaves past the L2 DTLB knee; 0 and 0: the first, whole sweep.
  std::uint64_t tlb_pages_above = 0;
  std::uint64_t tlb_pages_up_to = 0;
  MeasuredSizes measured;
  // --nodes: the NUMA nodes (OS indexes) of the numa family's matrix; empty:
  // every node, at most core::kMaxPlannedNodes of them.
  std::vector<unsigned> numa_nodes;
  // --cpus: the CPUs the c2c family pairs (each within core::inherited_cpus,
  // checked by the harness), ascending. Empty: every CPU of the mask.
  std::vector<int> cpus;
  // The families `memprobe run --only` named; empty for the default run of
  // all. A family named there may run more of its cases (bandwidth: its
  // read:write mixes at every point).
  std::vector<std::string> only_families = {};
};

struct Family {
  std::string_view name;         // "latency": the CLI and JSON family name
  std::string_view description;  // one line, for --help and `memprobe list`
  // Registers the family's cases; returns how many (for progress).
  std::size_t (*register_cases)(const core::Machine& machine, const CaseOptions& options);
  // True if its cases use the page policies of --pages (so a hugetlb pool
  // reserved for the run can serve them); false if it picks its own pages
  // (THP, else 4 KiB) whatever --pages says.
  bool follows_page_list = true;
};

// Applies the options every case shares (repetitions, minimum time).
benchmark::internal::Benchmark* apply_case_options(benchmark::internal::Benchmark* b,
                                                   const CaseOptions& options);

// What every family's cases take from the machine and the options: the TSC
// rate (the machine's calibration, else core::tsc_hz()), the calibrated core
// clock (0: unknown), the cache line and the chain seed.
struct CaseSetup {
  double tsc_hz = 0;
  double core_hz = 0;
  std::size_t line_bytes = 64;
  std::uint64_t seed = core::kDefaultChainSeed;
  ChaseClocks clocks() const { return {tsc_hz, core_hz}; }
};
CaseSetup case_setup(const core::Machine& machine, const CaseOptions& options);

// Set (async-signal-safely) by the harness's SIGINT/SIGTERM handler: cases
// not yet started then skip at once, so the run ends after the current case
// and the completed ones are kept.
void request_interrupt();
bool interrupt_requested();

// Registers a case with Google Benchmark (benchmark::RegisterBenchmark). Every
// call of case_function goes through the process's CaseProtocol
// (benchmarks/case_protocol.h) first: a case not yet started when the run is
// interrupted, and the later repetitions of a case whose first one failed,
// skip before the function runs, so no family can forget either. A
// std::bad_alloc (or std::length_error) the function throws, e.g. a chain's
// node vector under a small RLIMIT_AS, fails that case through fail_case with
// the reason ("latency/4k/256MiB: cannot allocate memory for the case
// (std::bad_alloc) ...") and the run goes on with the next case.
benchmark::internal::Benchmark* register_case(const std::string& name,
                                              std::function<void(benchmark::State&)> case_function);
// Ends the current repetition of a case that cannot be measured (allocation
// refused, hugetlb pool exhausted, thread not started), in any repetition, as
// CaseProtocol::fail decides. Call only before the case's timed loop.
void fail_case(benchmark::State& state, const std::string& reason);
// The timed part of a chase case: fails the case with the reason when its
// chain could not be prepared (nullptr), else runs run_timed_chase from where
// the previous repetition stopped, keeps where it stopped, and returns the
// chain (for the label).
template <class Prepared>
Prepared* chase_prepared(benchmark::State& state, const core::Result<Prepared*>& prepared, const ChaseClocks& clocks) {
  if (!prepared) {
    fail_case(state, prepared.error().reason);
    return nullptr;
  }
  Prepared* p = *prepared;
  p->position = run_timed_chase(state, p->position, clocks);
  return p;
}
// Registers a case that is not measured: it only reports `reason` (an
// unavailable entry in the results), once, whether or not the run is
// interrupted. The one way a family registers a case it leaves out.
void register_skipped_case(const std::string& name, const std::string& reason);
// Called by the harness's reporter when a case's repetitions are all reported.
void mark_case_finished();

// How a family registers its cases: measured ones through register_case with
// the options every case shares (apply_case_options) and the family's time
// unit, left-out ones through register_skipped_case; counts both (the count
// Family::register_cases returns).
class CaseRegistrar {
 public:
  CaseRegistrar(const CaseOptions& options, benchmark::TimeUnit unit) : options_(options), unit_(unit) {}
  benchmark::internal::Benchmark* add(const std::string& name, std::function<void(benchmark::State&)> case_function);
  void skip(const std::string& name, const std::string& reason);
  std::size_t count() const { return count_; }

 private:
  const CaseOptions& options_;
  benchmark::TimeUnit unit_;
  std::size_t count_ = 0;
};

bool add_family(const Family& family);
// Every linked-in family, sorted by name.
std::vector<Family> families();
const Family* find_family(std::string_view name);

#define MEMPROBE_FAMILY(id, description, register_fn)                  \
  [[maybe_unused]] static const bool memprobe_family_registered_##id = \
      ::memprobe::bench::add_family({#id, description, register_fn, true})
// A family that chooses its own pages (Family::follows_page_list false).
#define MEMPROBE_FAMILY_OWN_PAGES(id, description, register_fn)        \
  [[maybe_unused]] static const bool memprobe_family_registered_##id = \
      ::memprobe::bench::add_family({#id, description, register_fn, false})

}  // namespace memprobe::bench
