// The progress line's "s left": families cost very different amounts per
// case (a latency case is a few repetitions of a chase; a hugepage case
// first-touches regions of up to hundreds of MiB), and they run one after the
// other, so "elapsed / cases done x cases left" is wrong by the mix of what
// is left. This estimate keeps a per-case cost per family: measured once the
// family has finished a case, else a prior (the family's relative cost times
// the run's measured seconds per unit of prior cost).
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace memprobe::harness {

// How much a family's case costs relative to a latency case (1): a prior,
// used only until the family's own cases are timed. Families not listed
// count as 1. See kRelativeCaseCost in eta.cc for where the figures come from.
double relative_case_cost(const std::string& family);

// "latency/4k/1MiB" -> "latency".
std::string family_of_case(const std::string& case_name);

class RemainingTime {
 public:
  // The cases not yet run, per family (replaces the previous plan: the run
  // re-counts later families once it knows the sizes they will use). The
  // family "" counts cases of any family the map does not name.
  void set_cases_left(std::map<std::string, std::size_t> cases_left_per_family);
  // A case of `family` finished after `seconds` (its wall time, set-up included).
  void case_done(const std::string& family, double seconds);

  std::size_t cases_left() const;
  // The estimate; 0 when nothing is left, and before any case was timed the
  // prior costs alone cannot give seconds: then -1.
  double seconds_left() const;

 private:
  struct FamilyCost {
    double seconds = 0;  // measured, over `cases`
    std::size_t cases = 0;
  };
  std::map<std::string, std::size_t> cases_left_;
  std::map<std::string, FamilyCost> measured_;
};

}  // namespace memprobe::harness
