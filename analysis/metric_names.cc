#include "analysis/metric_names.h"

#include <algorithm>

namespace memprobe::analysis {
namespace {

bool is_time_unit(std::string_view part) {
  return part == "ns" || part == "us" || part == "ms" || part == "cycles" || part == "ticks";
}

}  // namespace

std::vector<std::string_view> metric_name_parts(std::string_view name) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto underscore = name.find('_');
    parts.push_back(name.substr(0, underscore));
    if (underscore == std::string_view::npos) break;
    name.remove_prefix(underscore + 1);
  }
  return parts;
}

Direction metric_direction(std::string_view metric) {
  const auto parts = metric_name_parts(metric);
  if (std::find(parts.begin(), parts.end(), "speedup") != parts.end() || metric.rfind("speedup", 0) == 0 ||
      metric.ends_with("per_s") || parts.back() == "gbps")
    return Direction::kHigherIsBetter;
  if (is_time_unit(parts.front()) || is_time_unit(parts.back())) return Direction::kLowerIsBetter;
  return Direction::kNeutral;
}

}  // namespace memprobe::analysis
