#include "analysis/families/drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/family.h"
#include "analysis/family_support.h"
#include "analysis/families/latency.h"

namespace memprobe::analysis {

using nlohmann::json;

namespace {

json to_json(const DriftRow& r) {
  return {{"level", r.level},
          {"page", r.page},
          {"working_set_bytes", r.working_set_bytes},
          {"sweep_ns", json_opt(r.sweep_ns)},
          {"end_ns", r.end_ns},
          {"end_spread_pct", json_opt(r.end_spread_pct)},
          {"change_pct", json_opt(r.change_pct)}};
}

DriftRow drift_row_from_json(const json& row) {
  return {json_string(row, "level"),    json_string(row, "page"), json_number(row, "working_set_bytes").value_or(0),
          json_number(row, "sweep_ns"), json_number(row, "end_ns").value_or(0), json_number(row, "end_spread_pct"),
          json_number(row, "change_pct")};
}

std::string format_change(const std::optional<double>& pct) {
  return pct ? fmt::format("{:+.1f} %", *pct) : std::string(kMissing);
}

// "latency drift: L1 +0.1 %, ..., DRAM -3.1 % (end of run vs sweep)".
std::vector<SummaryLine> drift_summary(const Results& results) {
  std::string text;
  for (const DriftRow& row : drift_rows(results))
    if (row.change_pct) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", row.level, format_change(row.change_pct));
  if (text.empty()) return {};
  return {{5, "latency drift", text + " (the same working sets at the end of the run)"}};
}

}  // namespace

void derive_drift(Results& results) {
  // The page the cache table's figures were read from (derived by latency).
  const std::string table_page = json_string(results.derived.extra, "latency_curve_page");
  const std::vector<CacheLevelRow>& levels = results.derived.cache_levels;
  // In the cache table's level order; a level it does not list goes last.
  const auto level_rank = [&](const Case* c) {
    const std::string level = param_text(c->params, "level");
    return std::find_if(levels.begin(), levels.end(), [&](const CacheLevelRow& l) { return l.level == level; }) -
           levels.begin();
  };
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "drift") cases.push_back(&c);
  std::stable_sort(cases.begin(), cases.end(),
                   [&](const Case* a, const Case* b) { return level_rank(a) < level_rank(b); });
  std::vector<DriftRow> rows;
  for (const Case* c : cases) {
    const auto end_ns = metric(*c, "ns_per_load");
    if (!end_ns) continue;
    DriftRow row{param_text(c->params, "level"),
                 param_text(c->params, "page"),
                 param_number(*c, "working_set_bytes").value_or(0),
                 std::nullopt,
                 *end_ns,
                 c->spread.repetitions >= 2 ? std::optional<double>(spread_pct(c->spread)) : std::nullopt,
                 std::nullopt};
    for (const CacheLevelRow& level : levels)
      if (level.level == row.level && row.page == table_page && level.latency_ns && *level.latency_ns > 0) {
        row.sweep_ns = level.latency_ns;
        row.change_pct = (row.end_ns - *level.latency_ns) / *level.latency_ns * 100;
      }
    rows.push_back(row);
  }
  store_rows(results, "drift", rows, to_json);
}

std::vector<DriftRow> drift_rows(const Results& results) { return load_rows(results, "drift", drift_row_from_json); }

std::optional<double> level_drift_pct(const Results& results, const std::string& level) {
  for (const DriftRow& row : drift_rows(results))
    if (row.level == level && row.change_pct) return std::fabs(*row.change_pct);
  return std::nullopt;
}

std::string render_drift_table(const Results& results, TableFormat format) {
  const std::vector<DriftRow> drift = drift_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "drift");
  if (drift.empty() && unavailable.empty()) return "";
  std::string out;
  if (!drift.empty()) {
    out += note_line(fmt::format("Drift: each level's figure re-measured at the end of the run ({} pages, the "
                                 "working set its figure was read at, the same chain in a fresh buffer)",
                                 drift.front().page),
                     format);
    std::vector<std::vector<std::string>> rows;
    const DriftRow* largest = nullptr;
    std::string noisy;
    for (const DriftRow& row : drift) {
      rows.push_back({row.level, format_bytes(row.working_set_bytes), or_missing(row.sweep_ns, format_ns),
                      format_ns(row.end_ns), format_spread(row.end_spread_pct), format_change(row.change_pct)});
      if (row.change_pct && (!largest || std::fabs(*row.change_pct) > std::fabs(*largest->change_pct))) largest = &row;
      if (row.end_spread_pct && *row.end_spread_pct > kNoisySpreadPct) noisy += (noisy.empty() ? "" : ", ") + row.level;
    }
    out += render_table({{"level", false}, {"working set", true}, {"sweep ns", true}, {"end of run ns", true},
                         {"its spread", true}, {"change", true}},
                        rows, format);
    if (!noisy.empty())
      out += note_line(fmt::format("!: {}: the end-of-run repetitions themselves disagreed by more than {:.0f} %: "
                                   "the machine was moving during the case too",
                                   noisy, kNoisySpreadPct),
                       format);
    if (largest)
      out += note_line(fmt::format("Largest change: {} {}. The machine moved this much within one run: a difference "
                                   "between two runs' {} figures smaller than that is not the change you made "
                                   "(memprobe compare counts it as noise).",
                                   largest->level, format_change(largest->change_pct), largest->level),
                       format);
  }
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

FamilyDescriptor describe_drift() {
  return {.name = "drift", .run_rank = 9, .report_rank = 1, .tables = {{"drift"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_drift, .render = render_drift_table,
          .summary = drift_summary, .plots = nullptr, .compared = false, .level_noise_pct = level_drift_pct};
}

}  // namespace memprobe::analysis
