// The regression gate over a comparison (`memprobe compare ...
// --fail-on-regression PCT`): a pass/fail answer a CI pipeline can act on,
// as text or as a JUnit XML report.
//
// What is checked: every derived figure, and every case whose family has no
// derived figure in the comparison (derived_table_of_family: a family with
// figures is judged by them, not by its single, noisier points).
// A check fails when
//  - its verdict is "slower" (the worse direction for its metric: time up, a
//    rate or speed-up down) AND it is worse than A by more than PCT:
//    lower-is-better metrics by (B/A - 1) * 100, higher-is-better by
//    (1 - B/A) * 100. "slower" already means beyond the noise of both sides
//    (compare.h), so both conditions hold;
//  - or the side B (or A) was interrupted and that hid it (nothing to judge).
// Sizes and counts (detected cache sizes, TLB entries: no better direction)
// never fail: a tuning change (THP, pools, kernel) cannot change the
// hardware, so a knee that moved beyond one grid step is a detection effect
// or another machine, which the machine differences already report. They
// are listed as passed checks with their verdict. Figures on one side only,
// or without a ratio, are skipped. A gate that compared nothing (A and B
// share no figure and no case with a value on both sides: every case
// renamed, other families, an empty run) fails: a pass would claim what was
// never checked.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/compare.h"

namespace memprobe::analysis {

enum class GateOutcome { kPass, kFail, kSkip };

struct GateCheck {
  std::string name;          // the figure ("cache L2 latency_ns") or case name
  bool is_case = false;
  std::string group;         // derived table, or the case's family
  std::string metric;
  std::optional<double> a, b, ratio;
  Verdict verdict = Verdict::kNotComparable;
  GateOutcome outcome = GateOutcome::kPass;
  std::string message;       // "slower by 20.0 % (limit 10 %)", "only in A", ...
};

struct GateResult {
  double threshold_pct = 0;
  std::vector<GateCheck> checks;  // figures first, then cases
  // Why nothing was compared ("A and B share no figure or case: ..."), or
  // empty when some check had both sides.
  std::string nothing_compared;
  std::size_t count(GateOutcome outcome) const;
  bool failed() const { return count(GateOutcome::kFail) > 0 || !nothing_compared.empty(); }
};

// How much worse B is than A for `metric`, in % (positive = worse); nullopt
// for a metric without a better direction or without a ratio (a <= 0).
std::optional<double> worse_by_pct(std::string_view metric, double a, double b);

GateResult regression_gate(const Comparison& comparison, double threshold_pct);

// "regression gate: FAIL ..." with a table of the failing checks, or
// "regression gate: pass ...": one section for the end of the text report.
// With TableFormat::kHtml, HTML fragments of the same lines and table.
std::string render_gate(const GateResult& gate, TableFormat format = TableFormat::kText);

// A JUnit XML document: one <testsuite>, one <testcase> per check (failure or
// skipped with the message), properties naming both sides and the limit.
std::string render_junit(const Comparison& comparison, const GateResult& gate);

}  // namespace memprobe::analysis
