// What a metric's name says about it: its unit parts and which way is
// better. The results loader (which values are possible), compare and the
// gate (which way is worse) read a name the same way.
#pragma once

#include <string_view>
#include <vector>

namespace memprobe::analysis {

enum class Direction { kLowerIsBetter, kHigherIsBetter, kNeutral };

// "ns_per_load" -> {"ns", "per", "load"}.
std::vector<std::string_view> metric_name_parts(std::string_view name);

// Which way is better for a metric, from its name: a time per access (a first
// or last name part of ns, us, ms, cycles, ticks: ns_per_load,
// cycles_per_load, us_per_fault, latency_ns) is lower-is-better; a rate or a
// speed-up (*_per_s, gbps, speedup*) is higher-is-better; anything else
// (sizes, entries, counts) is neutral.
Direction metric_direction(std::string_view metric);

}  // namespace memprobe::analysis
