// `memprobe run` measures family by family, so that each family is sized
// from what the run has measured before it rather than from what the system
// reports: the latency sweep grows until its curve shows DRAM; the families
// that pick a working set per level take the detected levels; pagewalk takes
// the tlb family's detected L2 DTLB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "benchmarks/family.h"
#include "core/machine.h"
#include "harness/collector.h"

namespace memprobe::harness {

// The first octave-by-octave step of the latency sweep ends here (4 KiB ..
// this holds every L1 and L2 and many guests' effective L3); each further
// step doubles it until a curve shows DRAM, the bound, or the time limit.
inline constexpr std::uint64_t kFirstLatencySweepTopBytes = 32ull << 20;
// The latency family's budget per page policy measured (seconds): the sweep stops growing before an octave that would take the
// family past it (predicted_latency_seconds). Per policy, because every
// policy measures the whole range: 16 s for the default 4k and THP pages
// (a default run's other families take about 45 s of its 60 s in a 2-vCPU
// guest), and a run that asks for 2m and 1g pages too still reaches DRAM.
inline constexpr double kLatencySweepSecondsPerPolicy = 8;
// --quick's: its points are cheap, but DRAM it must still reach. A guest
// whose L3 read 16 MiB steps into DRAM past 32 MiB and shows its two octaves
// at 256 MiB; at 2 s a policy such --quick runs ended at 128 MiB without
// DRAM, sized the later families from the sweep's top and took 26 s.
inline constexpr double kQuickLatencySweepSecondsPerPolicy = 3;

// Seconds the whole latency family would take if the sweep grew one more
// octave: that octave costs about twice the largest octave measured (set-up,
// first touch and warm-up grow with the working set). Both figures are over
// every page policy, which each step measures.
double predicted_latency_seconds(double elapsed_seconds, double largest_octave_seconds);

// The wall seconds of the `page` latency cases with working sets in
// (top_bytes / 2, top_bytes]: the sweep's largest octave so far.
double largest_octave_seconds(const analysis::Results& results, const std::map<std::string, double>& case_seconds,
                              const std::string& page, std::uint64_t top_bytes);

// The tlb family's base-page sweep grows the same way, past its first sweep,
// until its curve is complete (analysis::tlb_sweep_complete).
inline constexpr double kTlbSweepSeconds = 20;

struct LatencySweepEnd {
  std::uint64_t up_to_bytes = 0;  // the sweep's largest working set
  std::string reason;             // why it ended there (results: extra.latency_sweep)
};

// The cases each of families[from..] registers with `options` (for progress:
// the total and the estimate of the time left).
std::map<std::string, std::size_t> count_cases(const std::vector<std::string>& families, std::size_t from,
                                               const core::Machine& machine, const bench::CaseOptions& options);
std::size_t total_cases(const std::map<std::string, std::size_t>& cases_per_family);

struct TlbSweepEnd {
  std::uint64_t up_to_pages = 0;  // the base-page sweep's largest page count
  std::string reason;             // why it ended there (results: extra.tlb_sweep)
};

// What the cases collected so far measured: the cache capacities and where
// DRAM begins (latency), the 4 KiB DTLB entries (tlb). Empty members where
// nothing was measured or detected.
bench::MeasuredSizes measured_sizes(const std::vector<RawRun>& runs, const analysis::MachineInfo& machine);

// Runs `families` in order, each registered just before it runs with
// `options` and what the families before it measured (options.measured).
// Records the latency sweep's end and the sizes used in results.extra.
void run_families_in_stages(const std::vector<std::string>& families, const core::Machine& machine,
                            bench::CaseOptions options, bool sweep_cap_given, analysis::Results& results,
                            CollectingReporter& reporter, std::ostream& err);

}  // namespace memprobe::harness
