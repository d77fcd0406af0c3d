// Reference time (TSC ticks, never called "cycles") and core-clock calibration.
// TSC ticks at a fixed nominal rate while the core boosts, so core cycles are
// derived from a calibrated core clock: the PMU where one exists, otherwise a
// dependent-add chain of known one-cycle latency.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memprobe::core {

// Start/end stamps of a timed region: `lfence; rdtsc` and `rdtscp; lfence` on
// x86-64, `isb; mrs cntvct_el0` (the generic timer's virtual count, ticking
// at CNTFRQ_EL0) on AArch64. Other architectures do not compile.
std::uint64_t tsc_begin();
std::uint64_t tsc_end();

// Tick rate of tsc_begin/tsc_end in Hz, cached for the process: on x86-64
// calibrated once against CLOCK_MONOTONIC_RAW over >= 100 ms; on AArch64
// CNTFRQ_EL0, the architectural frequency of the virtual counter (calibrated
// as on x86-64 only if firmware left it 0).
double tsc_hz();

struct CoreClock {
  double hz = 0.0;                   // core cycles per second
  double cycles_per_tsc_tick = 0.0;  // hz / tsc_hz
  std::string source;                // "calibrated" (add chain) or "pmu"
  std::size_t samples = 0;           // samples taken
  double quantile = 0.0;             // which quantile of the samples was used
};

// Core clock from `samples` short dependent-add-chain samples (each ~0.2 ms).
// Uses a high quantile (p90): on a shared VM individual samples are slowed by
// interference, never sped up, so the upper plateau is the real clock.
CoreClock calibrate_core_clock(std::size_t samples = 200);

// The quantile q (0..1) of values by nearest rank: with the n values sorted
// ascending as v[1..n], returns v[max(1, ceil(q * n))] (q is clamped to
// [0, 1]; NaN counts as 0). So q = 0 gives the minimum, q = 1 the maximum, and
// q = 0.9 of {1..10} gives 9. Always one of the values, never interpolated.
// values is taken by copy and sorted; empty -> 0.
double quantile_of(std::vector<double> values, double q);

}  // namespace memprobe::core
