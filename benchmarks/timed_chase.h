// The one timed pointer-chase loop every chase family runs, and the per-load
// figures it reports: ns_per_load, cycles_per_load (from the calibrated core
// clock, never TSC ticks) and the region counters per load.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/buffer.h"
#include "core/chain.h"

namespace memprobe::bench {

// Loads per Google Benchmark iteration: long enough that loop and timer
// overhead vanish (~4 us in L1, ~0.5 ms in DRAM), short enough for many samples.
inline constexpr std::size_t kChaseLoadsPerIteration = 4096;

struct ChaseClocks {
  double tsc_hz = 0;   // tick rate of core::tsc_begin/tsc_end
  double core_hz = 0;  // 0: unknown, no cycles_per_load
};

// A chain built and warmed up in a buffer, ready for a case to chase: each
// repetition resumes at `position`, where the previous one stopped.
struct PreparedChain {
  core::Chain chain;
  void* position = nullptr;
  const core::Backing* backing = nullptr;
};

// Runs the state's iterations of core::memprobe_chase from `position`
// (loads_per_iteration each) between TSC stamps with the region counters
// around it, reports the per-load figures, and returns where the chase
// stopped so the next repetition can resume there.
void* run_timed_chase(benchmark::State& state, void* position, const ChaseClocks& clocks,
                      std::size_t loads_per_iteration = kChaseLoadsPerIteration);

// As run_timed_chase, but each iteration is timed on its own and
// ns_per_load is the median over the iterations: on a shared host a
// preemption, and the cache refill after it, spoil a few iterations of a
// repetition instead of its mean. For short figures whose step is a few ns
// (the line probe). The kernel between the stamps is the same memprobe_chase.
void* run_sampled_chase(benchmark::State& state, void* position, const ChaseClocks& clocks,
                        std::size_t loads_per_iteration = kChaseLoadsPerIteration);

// Writes ns_per_load and, when core_hz is known, cycles_per_load for `loads`
// loads that took `seconds`.
void report_per_load(benchmark::State& state, double seconds, double loads, const ChaseClocks& clocks);

// "1.5MiB": format_bytes without the space, for case names.
std::string compact_bytes(std::uint64_t bytes);

}  // namespace memprobe::bench
