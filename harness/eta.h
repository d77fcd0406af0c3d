// The progress line's "s left": families cost very different amounts per
// case (a latency case is a few repetitions of a chase; a hugepage case
// first-touches regions of up to hundreds of MiB), and they run one after the
// other, so "elapsed / cases done x cases left" is wrong by the mix of what
// is left. This estimate keeps a per-case cost per family: a prior (the
// family's relative cost times seconds per unit of prior cost, measured over
// the families this run has finished, a prior until one has), and for a
// family under way the larger of that and its own mean so far.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace memprobe::harness {

// How much a family's case costs relative to a latency case (1): a prior,
// used only until the family's own cases are timed; --quick runs shorter
// repetitions, so set-up weighs more there and the priors differ. Families
// not listed count as 1. See eta.cc for where the figures come from.
double relative_case_cost(const std::string& family, bool quick = false);

// A latency case's mean wall seconds on the reference machine (eta.cc): the
// scale of the priors until this run has finished a family.
double prior_latency_case_seconds(bool quick = false);

// "latency/4k/1MiB" -> "latency".
std::string family_of_case(const std::string& case_name);

class RemainingTime {
 public:
  explicit RemainingTime(bool quick = false) : quick_(quick) {}
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
  // No case of `family` is left to run (or the plan does not name it).
  bool finished(const std::string& family) const;
  // Seconds per unit of relative case cost (a latency case = 1).
  double seconds_per_unit() const;

  bool quick_ = false;
  std::map<std::string, std::size_t> cases_left_;
  std::map<std::string, FamilyCost> measured_;
};

}  // namespace memprobe::harness
