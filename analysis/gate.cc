#include "analysis/gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

std::string value_text(const std::string& metric, const std::optional<double>& value) {
  return value ? format_figure_value(metric, *value) : std::string(kMissing);
}

// The outcome of one figure or case from its verdict (rule in gate.h).
void judge_check(GateCheck& check, double threshold_pct) {
  switch (check.verdict) {
    case Verdict::kHiddenInA:
    case Verdict::kHiddenInB:
      check.outcome = GateOutcome::kFail;
      check.message = fmt::format("not measured: {} was interrupted", check.verdict == Verdict::kHiddenInA ? "A" : "B");
      return;
    case Verdict::kOnlyInA:
    case Verdict::kOnlyInB:
    case Verdict::kNotComparable:
      check.outcome = GateOutcome::kSkip;
      check.message = std::string(verdict_name(check.verdict));
      return;
    case Verdict::kLarger:
    case Verdict::kSmaller:
    case Verdict::kDiffers:
      check.outcome = GateOutcome::kPass;
      check.message = fmt::format("{} (sizes, counts and flags are not gated)", verdict_name(check.verdict));
      return;
    case Verdict::kWithinNoise:
    case Verdict::kFaster:
      check.outcome = GateOutcome::kPass;
      check.message = std::string(verdict_name(check.verdict));
      return;
    case Verdict::kSlower: break;
  }
  const auto worse = check.a && check.b ? worse_by_pct(check.metric, *check.a, *check.b) : std::nullopt;
  if (worse && *worse > threshold_pct) {
    check.outcome = GateOutcome::kFail;
    check.message = fmt::format("worse by {:.1f} % (limit {:g} %), beyond noise: A {}, B {}", *worse, threshold_pct,
                                value_text(check.metric, check.a), value_text(check.metric, check.b));
  } else {
    check.outcome = GateOutcome::kPass;
    check.message = worse ? fmt::format("slower by {:.1f} %, within the {:g} % limit", *worse, threshold_pct)
                          : std::string("slower");
  }
}

// XML text: markup characters escaped; control characters (not allowed in
// XML 1.0, even escaped) replaced by '?'.
std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        out += static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' ? '?' : ch;
    }
  }
  return out;
}

}  // namespace

std::size_t GateResult::count(GateOutcome outcome) const {
  return static_cast<std::size_t>(
      std::count_if(checks.begin(), checks.end(), [&](const GateCheck& c) { return c.outcome == outcome; }));
}

std::optional<double> worse_by_pct(std::string_view metric, double a, double b) {
  if (!(a > 0) || b < 0) return std::nullopt;
  switch (metric_direction(metric)) {
    case Direction::kLowerIsBetter: return (b / a - 1) * 100;
    case Direction::kHigherIsBetter: return (1 - b / a) * 100;
    case Direction::kNeutral: break;
  }
  return std::nullopt;
}

GateResult regression_gate(const Comparison& comparison, double threshold_pct) {
  GateResult gate;
  gate.threshold_pct = threshold_pct;
  std::set<std::string> tables_with_figures;  // tables with a figure measured on both sides
  for (const FigureComparison& f : comparison.figures) {
    if ((f.a && f.b) || (!f.a_text.empty() && !f.b_text.empty())) tables_with_figures.insert(f.table);
    GateCheck check{f.figure, false, f.table, f.metric, f.a, f.b, f.ratio, f.verdict, GateOutcome::kPass, ""};
    judge_check(check, threshold_pct);
    gate.checks.push_back(std::move(check));
  }
  for (const CaseComparison& c : comparison.cases) {
    const std::string table(derived_table_of_family(c.family));
    const bool hidden = c.verdict == Verdict::kHiddenInA || c.verdict == Verdict::kHiddenInB;
    if (!hidden && !table.empty() && tables_with_figures.count(table)) continue;  // its figures are checked
    GateCheck check{c.name, true, c.family, c.metric, c.a, c.b, c.ratio, c.verdict, GateOutcome::kPass, ""};
    judge_check(check, threshold_pct);
    gate.checks.push_back(std::move(check));
  }
  if (gate.count(GateOutcome::kPass) + gate.count(GateOutcome::kFail) == 0) {
    const auto one_sided = [&](Verdict verdict) {
      return std::count_if(gate.checks.begin(), gate.checks.end(), [&](const GateCheck& c) { return c.verdict == verdict; });
    };
    gate.nothing_compared = fmt::format(
        "A and B share no figure or case with a value on both sides ({} only in A, {} only in B, {} without a "
        "ratio), so nothing was compared",
        one_sided(Verdict::kOnlyInA), one_sided(Verdict::kOnlyInB), one_sided(Verdict::kNotComparable));
  }
  return gate;
}

std::string render_gate(const GateResult& gate, TableFormat format) {
  const std::size_t figures = static_cast<std::size_t>(
      std::count_if(gate.checks.begin(), gate.checks.end(), [](const GateCheck& c) { return !c.is_case; }));
  const std::string checked = fmt::format("{} checks: {} derived figures, {} cases no figure covers; {} skipped",
                                          gate.checks.size(), figures, gate.checks.size() - figures,
                                          gate.count(GateOutcome::kSkip));
  if (!gate.nothing_compared.empty())
    return "\n" + note_line(fmt::format("regression gate: FAIL: {} ({})", gate.nothing_compared, checked), format);
  if (!gate.failed())
    return "\n" + note_line(fmt::format("regression gate: pass: nothing worse than A by more than {:g} % beyond "
                                         "noise ({})",
                                         gate.threshold_pct, checked),
                             format);
  std::string out = "\n" + note_line(fmt::format("regression gate: FAIL: {} check{} failed at {:g} % ({})",
                                                 gate.count(GateOutcome::kFail),
                                                 gate.count(GateOutcome::kFail) == 1 ? "" : "s", gate.threshold_pct,
                                                 checked),
                                     format);
  std::vector<std::vector<std::string>> rows;
  for (const GateCheck& c : gate.checks)
    if (c.outcome == GateOutcome::kFail)
      rows.push_back({c.is_case ? "case" : "figure", c.name, value_text(c.metric, c.a), value_text(c.metric, c.b),
                      c.ratio ? fmt::format("{:.2f}", *c.ratio) : std::string(kMissing), c.message});
  out += render_table({{"", false}, {"failed", false}, {"A"}, {"B"}, {"B/A"}, {"why", false}}, rows, format);
  return out;
}

std::string render_junit(const Comparison& comparison, const GateResult& gate) {
  // A gate that compared nothing fails as a check of its own.
  const bool nothing_compared = !gate.nothing_compared.empty();
  const std::size_t tests = gate.checks.size() + (nothing_compared ? 1 : 0);
  const std::size_t failures = gate.count(GateOutcome::kFail) + (nothing_compared ? 1 : 0);
  const std::size_t skipped = gate.count(GateOutcome::kSkip);
  const std::string suite = fmt::format("memprobe regression gate ({:g} %)", gate.threshold_pct);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"memprobe compare\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                     tests, failures, skipped);
  out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                     xml_escape(suite), tests, failures, skipped);
  out += "    <properties>\n";
  const auto property = [&](std::string_view name, const std::string& value) {
    out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, xml_escape(value));
  };
  property("A", comparison.run_a);
  property("B", comparison.run_b);
  property("A_runs", std::to_string(comparison.side_a.runs));
  property("B_runs", std::to_string(comparison.side_b.runs));
  property("threshold_pct", fmt::format("{:g}", gate.threshold_pct));
  out += "    </properties>\n";
  if (nothing_compared)
    out += fmt::format("    <testcase classname=\"memprobe.gate\" name=\"shared figures\" time=\"0\"><failure "
                       "type=\"nothing compared\" message=\"{}\"/></testcase>\n",
                       xml_escape(gate.nothing_compared));
  for (const GateCheck& c : gate.checks) {
    const std::string classname = fmt::format("memprobe.{}.{}", c.is_case ? "case" : "figure", c.group);
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\"", xml_escape(classname), xml_escape(c.name));
    switch (c.outcome) {
      case GateOutcome::kPass:
        out += fmt::format("><system-out>{}</system-out></testcase>\n", xml_escape(c.message));
        break;
      case GateOutcome::kSkip:
        out += fmt::format("><skipped message=\"{}\"/></testcase>\n", xml_escape(c.message));
        break;
      case GateOutcome::kFail:
        out += fmt::format("><failure type=\"regression\" message=\"{}\"/></testcase>\n", xml_escape(c.message));
        break;
    }
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace memprobe::analysis
