#include "benchmarks/timed_chase.h"

#include <algorithm>

#include "benchmarks/region_counters.h"
#include "core/chase.h"
#include "core/clock.h"
#include "core/units.h"

namespace memprobe::bench {

void* run_timed_chase(benchmark::State& state, void* position, const ChaseClocks& clocks,
                      std::size_t loads_per_iteration) {
  start_region_counters();
  const std::uint64_t start_ticks = core::tsc_begin();
  for (auto _ : state) position = core::memprobe_chase(position, loads_per_iteration);
  const std::uint64_t end_ticks = core::tsc_end();
  stop_region_counters();
  // Once, after the loop: a per-step DoNotOptimize could put a store and
  // reload into the dependency chain.
  benchmark::DoNotOptimize(position);
  const double loads = static_cast<double>(state.iterations()) * static_cast<double>(loads_per_iteration);
  report_per_load(state, static_cast<double>(end_ticks - start_ticks) / clocks.tsc_hz, loads, clocks);
  report_region_counters(state, loads);
  return position;
}

void report_per_load(benchmark::State& state, double seconds, double loads, const ChaseClocks& clocks) {
  if (!(loads > 0)) return;
  const double ns_per_load = seconds * 1e9 / loads;
  state.counters["ns_per_load"] = ns_per_load;
  if (clocks.core_hz > 0) state.counters["cycles_per_load"] = ns_per_load * clocks.core_hz / 1e9;
}

std::string compact_bytes(std::uint64_t bytes) {
  std::string text = core::format_bytes(bytes);
  text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
  return text;
}

}  // namespace memprobe::bench
