#include "harness/eta.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace memprobe::harness {
namespace {

// Per-case wall time relative to a latency case: the ratios of the
// families' mean case times in `memprobe run` and `memprobe run --quick`
// (default options, quiet machine), printed by `scripts/wall_time.sh
// --families` (which prints them for any machine): measured at 39522e4 on
// the Zen 5 guest of results/amd-fam26-model2-bhyve-2cpu (2 vCPUs).
// They only shape the estimate until a family's own cases are timed; the
// scale (seconds per unit) comes from this run's finished families.
constexpr std::array<std::pair<std::string_view, double>, 12> kRelativeCaseCost = {{
    {"assoc", 0.015},
    {"stride", 0.8},
    {"tlb", 1.0},
    {"pagewalk", 3.7},
    {"hugepage", 4.8},
    {"bandwidth", 1.0},
    {"mlp", 1.5},
    {"loaded", 1.4},
    {"c2c", 5.1},
    {"numa", 9.6},
    {"pagefault", 4.1},
    {"drift", 0.7},
}};
constexpr std::array<std::pair<std::string_view, double>, 12> kRelativeCaseCostQuick = {{
    {"assoc", 0.05},
    {"stride", 0.7},
    {"tlb", 0.9},
    {"pagewalk", 1.0},
    {"hugepage", 7.0},
    {"bandwidth", 0.8},
    {"mlp", 4.5},
    {"loaded", 4.3},
    {"c2c", 12.0},
    {"numa", 12.2},
    {"pagefault", 3.4},
    {"drift", 1.1},
}};
// A latency case's mean seconds over its whole sweep, same runs: the scale
// until some family has finished. A sweep's first cases (KiB working sets)
// cost a fraction of its mean, so the mean of the cases timed so far would
// underestimate the rest of the run by the mix of sizes still to come.
constexpr double kPriorLatencyCaseSeconds = 0.085;
constexpr double kPriorLatencyCaseSecondsQuick = 0.024;

}  // namespace

double relative_case_cost(const std::string& family, bool quick) {
  for (const auto& [name, cost] : quick ? kRelativeCaseCostQuick : kRelativeCaseCost)
    if (name == family) return cost;
  return 1.0;
}

double prior_latency_case_seconds(bool quick) {
  return quick ? kPriorLatencyCaseSecondsQuick : kPriorLatencyCaseSeconds;
}

std::string family_of_case(const std::string& case_name) { return case_name.substr(0, case_name.find('/')); }

void RemainingTime::set_cases_left(std::map<std::string, std::size_t> cases_left_per_family) {
  cases_left_ = std::move(cases_left_per_family);
}

void RemainingTime::case_done(const std::string& family, double seconds) {
  FamilyCost& m = measured_[family];
  m.seconds += seconds;
  ++m.cases;
  auto it = cases_left_.find(family);
  if (it == cases_left_.end()) it = cases_left_.find("");
  if (it != cases_left_.end() && it->second > 0) --it->second;
}

std::size_t RemainingTime::cases_left() const {
  std::size_t left = 0;
  for (const auto& [family, cases] : cases_left_) left += cases;
  return left;
}

bool RemainingTime::finished(const std::string& family) const {
  const auto it = cases_left_.find(family);
  return it == cases_left_.end() || it->second == 0;
}

double RemainingTime::seconds_per_unit() const {
  double seconds = 0, units = 0;
  for (const auto& [family, m] : measured_) {
    if (!finished(family)) continue;
    seconds += m.seconds;
    units += static_cast<double>(m.cases) * relative_case_cost(family, quick_);
  }
  if (units > 0) return seconds / units;
  return prior_latency_case_seconds(quick_);
}

double RemainingTime::seconds_left() const {
  if (cases_left() == 0) return 0;
  if (measured_.empty()) return -1;
  const double unit_s = seconds_per_unit();
  double left_s = 0;
  for (const auto& [family, cases] : cases_left_) {
    // A family under way: its own mean so far, but never below its prior: a
    // sweep's cases grow with the working set, its first ones are the cheap.
    double per_case_s = relative_case_cost(family, quick_) * unit_s;
    if (const auto it = measured_.find(family); it != measured_.end() && it->second.cases > 0)
      per_case_s = std::max(per_case_s, it->second.seconds / static_cast<double>(it->second.cases));
    left_s += per_case_s * static_cast<double>(cases);
  }
  return left_s;
}

}  // namespace memprobe::harness
