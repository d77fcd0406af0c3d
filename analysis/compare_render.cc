// The rendering of `memprobe compare`: text and CSV of a Comparison.
#include <fmt/format.h>

#include <cmath>
#include <set>

#include "analysis/compare.h"
#include "analysis/compare_detail.h"
#include "analysis/metric_names.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace compare_detail {

// Plain number without scientific notation: integers as such, else 2
// decimals below 10, 1 below 100, none above.
std::string format_number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  const double magnitude = std::fabs(value);
  if (magnitude < 10) return fmt::format("{:.2f}", value);
  if (magnitude < 100) return fmt::format("{:.1f}", value);
  return fmt::format("{:.0f}", value);
}

}  // namespace compare_detail

namespace {

using compare_detail::format_number;

// A value in the unit its metric's name says.
std::string format_value(std::string_view metric, double value) {
  if (metric == "bytes" || metric.ends_with("_bytes")) return format_bytes(value);
  const auto parts = metric_name_parts(metric);
  if (parts.front() == "ns" || parts.back() == "ns") return format_ns(value);
  return format_number(value);
}

std::string format_ratio(const std::optional<double>& ratio) {
  return ratio ? fmt::format("{:.2f}", *ratio) : std::string(kMissing);
}

std::string format_pct(const std::optional<double>& pct) {
  return pct ? fmt::format("{:.1f}%", *pct) : std::string(kMissing);
}

// Text from a results file never reaches the terminal raw (escape_control).
std::string csv_field(const std::string& raw) { return csv_cell(escape_control(raw)); }

std::string csv_number(const std::optional<double>& value) { return value ? fmt::format("{}", *value) : ""; }


// What a side's verdicts rest on, and what an interruption hid.
std::string side_notes(const Comparison& comparison, TableFormat format) {
  std::string out;
  const auto line = [&](const std::string& text) { out += note_line(text, format); };
  for (const bool is_a : {true, false}) {
    const SideSummary& side = is_a ? comparison.side_a : comparison.side_b;
    const char* name = is_a ? "A" : "B";
    if (side.runs == 1)
      line(fmt::format("{}: one run: its verdicts rest on within-run spread only, which misses run-to-run noise "
                         "(several runs per side: memprobe compare A1 A2 -- B1 B2)",
                         name));
    else
      line(fmt::format("{}: {} runs: each figure is their median, its interval spans the runs' spread", name,
                         side.runs));
  }
  for (const bool is_a : {true, false}) {
    const SideSummary& side = is_a ? comparison.side_a : comparison.side_b;
    if (side.drift_pct.empty()) continue;
    std::string levels;
    for (const auto& [level, pct] : side.drift_pct) levels += fmt::format("{}{} {:.1f} %", levels.empty() ? "" : ", ", level, pct);
    line(fmt::format("{}: its levels moved within the run (drift, largest of its runs): {}; a level's latency "
                       "counts that much as noise",
                       is_a ? "A" : "B", levels));
  }
  for (const bool is_a : {true, false}) {
    const SideSummary& side = is_a ? comparison.side_a : comparison.side_b;
    for (const auto& [level, how] : side.knee_moved)
      line(fmt::format("{}: within the run, {}; a difference in the {} detected size counts as noise",
                         is_a ? "A" : "B", how, level));
  }
  for (const bool is_a : {true, false}) {
    const SideSummary& side = is_a ? comparison.side_a : comparison.side_b;
    if (side.interrupted == 0) continue;
    const Verdict hidden = is_a ? Verdict::kHiddenInA : Verdict::kHiddenInB;
    std::size_t figures = 0, cases = 0;
    std::set<std::string> families;
    for (const FigureComparison& f : comparison.figures) figures += f.verdict == hidden;
    for (const CaseComparison& c : comparison.cases)
      if (c.verdict == hidden) ++cases, families.insert(c.family);
    std::string family_list;
    for (const std::string& f : families) family_list += (family_list.empty() ? "" : ", ") + f;
    line(fmt::format("{} was interrupted ({} of {} run{}): it hid {} derived figure{} and {} case{}{} measured in {} "
                       "(verdict \"{}\" below)",
                       is_a ? "A" : "B", side.interrupted, side.runs, side.runs == 1 ? "" : "s", figures,
                       figures == 1 ? "" : "s", cases, cases == 1 ? "" : "s",
                       family_list.empty() ? "" : " (" + family_list + ")", is_a ? "B" : "A", verdict_name(hidden)));
  }
  return out;
}

}  // namespace

std::string format_figure_value(std::string_view metric, double value) { return format_value(metric, value); }

namespace {

// "derived figures:" and their table.
std::string figures_section(const Comparison& comparison, TableFormat format) {
  std::string out;
  out += "\n" + note_line("derived figures:", format);
  if (comparison.figures.empty()) {
    out += note_line("none in either file", format);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const FigureComparison& f : comparison.figures) {
      const auto cell = [&](const std::optional<double>& v, const std::string& text) {
        if (!text.empty()) return text;
        return v ? format_value(f.metric, *v) : std::string(kMissing);
      };
      rows.push_back({f.figure, cell(f.a, f.a_text), cell(f.b, f.b_text), format_ratio(f.ratio),
                      std::string(verdict_name(f.verdict)) + (f.note.empty() ? "" : ": " + f.note)});
    }
    out += render_table({{"figure", false}, {"A"}, {"B"}, {"B/A"}, {"verdict", false, verdict_html_class}}, rows,
                        format);
  }

  return out;
}

// "cases (...):", the cases not within noise (all with --all) and the count of those within.
std::string cases_section(const Comparison& comparison, TableFormat format) {
  std::string out;
  out += "\n" + note_line("cases (headline metric, median of the repetitions):", format);
  std::vector<std::vector<std::string>> rows;
  std::size_t within_noise = 0;
  for (const CaseComparison& c : comparison.cases) {
    if (c.verdict == Verdict::kWithinNoise) {
      ++within_noise;
      if (!comparison.options.all_cases) continue;
    }
    const auto cell = [&](const std::optional<double>& v) {
      return v ? format_value(c.metric, *v) : std::string(kMissing);
    };
    rows.push_back({c.name, c.metric.empty() ? std::string(kMissing) : c.metric, cell(c.a), cell(c.b),
                    format_ratio(c.ratio), format_pct(c.spread_a_pct), format_pct(c.spread_b_pct),
                    std::string(verdict_name(c.verdict)) + (c.note.empty() ? "" : " (" + c.note + ")")});
  }
  if (comparison.cases.empty()) {
    out += note_line("none in either file", format);
  } else {
    if (!rows.empty())
      out += render_table({{"case", false}, {"metric", false}, {"A"}, {"B"}, {"B/A"}, {"A spread"}, {"B spread"},
                           {"verdict", false, verdict_html_class}},
                          rows, format);
    if (!comparison.options.all_cases)
      out += note_line(fmt::format("{} of {} cases within noise{}", within_noise, comparison.cases.size(),
                                   within_noise > 0 ? " (not listed; --all lists every case)" : ""),
                       format);
  }
  return out;
}

}  // namespace

const char* verdict_html_class(const std::string& cell) {
  // The verdict's name opens its cell (a note may follow): the longest
  // names first, so "within noise" is not read as something shorter.
  struct Kind {
    Verdict verdict;
    const char* css;
  };
  static constexpr Kind kKinds[] = {
      {Verdict::kWithinNoise, "verdict same"},     {Verdict::kFaster, "verdict better"},
      {Verdict::kSlower, "verdict worse"},         {Verdict::kLarger, "verdict changed"},
      {Verdict::kSmaller, "verdict changed"},      {Verdict::kDiffers, "verdict changed"},
      {Verdict::kOnlyInA, "verdict missing"},      {Verdict::kOnlyInB, "verdict missing"},
      {Verdict::kNotComparable, "verdict missing"}, {Verdict::kHiddenInA, "verdict missing"},
      {Verdict::kHiddenInB, "verdict missing"},
  };
  for (const Kind& kind : kKinds)
    if (cell.starts_with(verdict_name(kind.verdict))) return kind.css;
  return "";
}

std::string render_comparison(const Comparison& comparison, TableFormat format) {
  std::string out = note_line(fmt::format("A  {}", comparison.run_a), format) +
                    note_line(fmt::format("B  {}", comparison.run_b), format);
  out += side_notes(comparison, format) + "\n";

  if (comparison.machine.empty()) {
    out += note_line("machine and settings: no differences", format);
  } else {
    out += note_line("machine and settings differences:", format);
    std::vector<std::vector<std::string>> rows;
    for (const Difference& d : comparison.machine) rows.push_back({d.what, d.a, d.b});
    out += render_table({{"what", false}, {"A", false}, {"B", false}}, rows, format);
  }
  if (!comparison.unavailable.empty()) {
    out += "\n" + note_line("measured on one side only:", format);
    std::vector<std::vector<std::string>> rows;
    for (const Difference& d : comparison.unavailable) rows.push_back({d.what, d.a, d.b});
    out += render_table({{"figure", false}, {"A", false}, {"B", false}}, rows, format);
  }

  const double floor_pct = comparison.options.noise_floor_pct;
  out += figures_section(comparison, format);
  out += cases_section(comparison, format);
  out += "\n" + note_line(fmt::format(
      "verdict: within noise if the sides' ranges overlap (cases: min..max of the repetitions, outliers left out; cache latency: "
      "± its spread, or its drift within the run where that is more; detected sizes: half a grid step either way, and any difference where a run's knee moved within it) or |B/A - 1| < {} %; otherwise faster/slower by the metric (time: lower is better; GB/s, "
      "speed-up: higher), larger/smaller for sizes and counts",
      format_number(floor_pct)), format);
  return out;
}

std::string render_comparison_csv(const Comparison& comparison) {
  std::string out = "section,name,metric,a,b,ratio,verdict\n";
  for (const Difference& d : comparison.machine)
    out += fmt::format("machine,{},,{},{},,differs\n", csv_field(d.what), csv_field(d.a), csv_field(d.b));
  for (const FigureComparison& f : comparison.figures)
    out += fmt::format("figure,{},{},{},{},{},{}\n", csv_field(f.figure), csv_field(f.metric),
                       f.a_text.empty() ? csv_number(f.a) : csv_field(f.a_text),
                       f.b_text.empty() ? csv_number(f.b) : csv_field(f.b_text), csv_number(f.ratio),
                       verdict_name(f.verdict));
  for (const CaseComparison& c : comparison.cases)
    out += fmt::format("case,{},{},{},{},{},{}\n", csv_field(c.name), csv_field(c.metric), csv_number(c.a),
                       csv_number(c.b), csv_number(c.ratio), verdict_name(c.verdict));
  return out;
}

}  // namespace memprobe::analysis
