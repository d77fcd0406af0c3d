#include "harness/eta.h"

#include <array>
#include <string_view>
#include <utility>

namespace memprobe::harness {
namespace {

// Per-case wall time relative to a latency case: the ratios of the
// families' mean case times in `memprobe run` and `memprobe run --quick`
// (default options, quiet machine) on the Intel Xeon KVM guest of
// results/intel-fam6-model167-kvm-2cpu, printed by `scripts/wall_time.sh
// --families` (which prints them for any machine). They only shape the
// estimate until a family's own cases are timed; the scale (seconds per
// unit) always comes from this run's measured cases.
constexpr std::array<std::pair<std::string_view, double>, 8> kRelativeCaseCost = {{
    {"stride", 0.9},
    {"tlb", 1.0},
    {"pagewalk", 3.1},
    {"hugepage", 2.3},
    {"bandwidth", 1.2},
    {"mlp", 1.9},
    {"loaded", 1.9},
    {"pagefault", 6.3},
}};
constexpr std::array<std::pair<std::string_view, double>, 8> kRelativeCaseCostQuick = {{
    {"stride", 0.5},
    {"tlb", 0.4},
    {"pagewalk", 0.1},
    {"hugepage", 0.5},
    {"bandwidth", 0.3},
    {"mlp", 1.7},
    {"loaded", 1.5},
    {"pagefault", 4.6},
}};

}  // namespace

double relative_case_cost(const std::string& family, bool quick) {
  for (const auto& [name, cost] : quick ? kRelativeCaseCostQuick : kRelativeCaseCost)
    if (name == family) return cost;
  return 1.0;
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

double RemainingTime::seconds_left() const {
  if (cases_left() == 0) return 0;
  // Seconds per unit of prior cost, over every timed case.
  double seconds = 0, units = 0;
  for (const auto& [family, m] : measured_) {
    seconds += m.seconds;
    units += static_cast<double>(m.cases) * relative_case_cost(family, quick_);
  }
  if (units <= 0) return -1;
  const double seconds_per_unit = seconds / units;
  double left_s = 0;
  for (const auto& [family, cases] : cases_left_) {
    const auto it = measured_.find(family);
    const double per_case_s = it != measured_.end() && it->second.cases > 0
                                  ? it->second.seconds / static_cast<double>(it->second.cases)
                                  : relative_case_cost(family, quick_) * seconds_per_unit;
    left_s += per_case_s * static_cast<double>(cases);
  }
  return left_s;
}

}  // namespace memprobe::harness
