// The performance counters wrapped around every timed region: software fault
// events always, and the machine's default hardware memory events (or the
// ones named with --counters) where a PMU lets them open. Each case reports
// them per access as Google Benchmark counters named "counter:<column>".
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/counters.h"

namespace memprobe::bench {

// Prefix that tells the harness a Google Benchmark counter is a performance
// counter (results: cases[].counters) rather than a metric.
inline constexpr const char* kCounterPrefix = "counter:";

// Default event set for this machine: software fault events plus the libpfm4
// core PMU's memory events (when libpfm4 knows the CPU).
std::vector<core::EventSpec> default_region_events();

// Opens the events once for the calling (benchmark) thread; later calls with
// the same thread reuse them. `events` empty means default_region_events().
void configure_region_counters(const std::vector<core::EventSpec>& events);

// Status of each configured event (available, or why not).
const std::vector<core::EventStatus>& region_counter_statuses();

// Starts / stops the configured counters around a timed region.
void start_region_counters();
void stop_region_counters();

// Writes every available counter of the last region, divided by `accesses`,
// into state.counters["counter:<column>_per_access"].
void report_region_counters(benchmark::State& state, double accesses);

}  // namespace memprobe::bench
