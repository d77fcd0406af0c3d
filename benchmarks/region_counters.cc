#include "benchmarks/region_counters.h"

#include <optional>

namespace memprobe::bench {
namespace {

struct RegionCounters {
  std::optional<core::EventGroup> group;
  std::vector<core::EventStatus> no_statuses;
};

// One set per process: the benchmarks run on the harness's pinned thread,
// and perf events opened for a thread follow it.
RegionCounters& region() {
  static RegionCounters instance;
  return instance;
}

}  // namespace

std::vector<core::EventSpec> default_region_events() {
  std::vector<core::EventSpec> events = core::default_software_events();
  const std::string pmu = core::core_event_table();
  if (!pmu.empty())
    for (core::EventSpec& e : core::default_memory_events(pmu)) events.push_back(std::move(e));
  return events;
}

void configure_region_counters(const std::vector<core::EventSpec>& events) {
  region().group.emplace(core::EventGroup::open(events.empty() ? default_region_events() : events));
}

const std::vector<core::EventStatus>& region_counter_statuses() {
  return region().group ? region().group->statuses() : region().no_statuses;
}

void start_region_counters() {
  if (!region().group) configure_region_counters({});
  region().group->start();
}

void stop_region_counters() {
  if (region().group) region().group->stop();
}

void report_region_counters(benchmark::State& state, double accesses) {
  if (!region().group || accesses <= 0) return;
  for (const core::EventReading& r : region().group->read().events) {
    if (!r.available) continue;
    state.counters[std::string(kCounterPrefix) + r.label + "_per_access"] = r.value / accesses;
  }
}

}  // namespace memprobe::bench
