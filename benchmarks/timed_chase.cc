#include "benchmarks/timed_chase.h"

#include <algorithm>
#include <cstdint>
#include <vector>

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

void* run_sampled_chase(benchmark::State& state, void* position, const ChaseClocks& clocks,
                        std::size_t loads_per_iteration) {
  std::vector<std::uint64_t> ticks;
  ticks.reserve(4096);
  start_region_counters();
  for (auto _ : state) {
    const std::uint64_t start_ticks = core::tsc_begin();
    position = core::memprobe_chase(position, loads_per_iteration);
    ticks.push_back(core::tsc_end() - start_ticks);
  }
  stop_region_counters();
  benchmark::DoNotOptimize(position);
  if (ticks.empty()) return position;
  std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(ticks.size() / 2), ticks.end());
  const double median_ticks = static_cast<double>(ticks[ticks.size() / 2]);
  report_per_load(state, median_ticks / clocks.tsc_hz, static_cast<double>(loads_per_iteration), clocks);
  report_region_counters(state, static_cast<double>(state.iterations()) * static_cast<double>(loads_per_iteration));
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
