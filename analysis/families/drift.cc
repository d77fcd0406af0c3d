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

json to_json(const KneeDriftRow& r) {
  return {{"level", r.level},
          {"next_level", r.next_level},
          {"page", r.page},
          {"sweep_knee_bytes", r.sweep_knee_bytes},
          {"level_ns", json_opt(r.level_ns)},
          {"next_level_ns", json_opt(r.next_level_ns)},
          {"midpoint_ns", json_opt(r.midpoint_ns)},
          {"below_bytes", json_opt(r.below_bytes)},
          {"below_ns", json_opt(r.below_ns)},
          {"below_spread_pct", json_opt(r.below_spread_pct)},
          {"above_bytes", json_opt(r.above_bytes)},
          {"above_ns", json_opt(r.above_ns)},
          {"above_spread_pct", json_opt(r.above_spread_pct)},
          {"status", r.status}};
}

KneeDriftRow knee_drift_row_from_json(const json& row) {
  return {.level = json_string(row, "level"),
          .next_level = json_string(row, "next_level"),
          .page = json_string(row, "page"),
          .sweep_knee_bytes = json_number(row, "sweep_knee_bytes").value_or(0),
          .level_ns = json_number(row, "level_ns"),
          .next_level_ns = json_number(row, "next_level_ns"),
          .midpoint_ns = json_number(row, "midpoint_ns"),
          .below_bytes = json_number(row, "below_bytes"),
          .below_ns = json_number(row, "below_ns"),
          .above_bytes = json_number(row, "above_bytes"),
          .above_ns = json_number(row, "above_ns"),
          .below_spread_pct = json_number(row, "below_spread_pct"),
          .above_spread_pct = json_number(row, "above_spread_pct"),
          .status = json_string(row, "status")};
}

constexpr const char* kKneeHeld = "held";
constexpr const char* kKneeMovedDown = "moved down";
constexpr const char* kKneeMovedUp = "moved up";
constexpr const char* kKneeUnclear = "unclear";
constexpr const char* kKneeNotDecided = "not decided";

bool knee_moved(const KneeDriftRow& row) {
  return row.status == kKneeMovedDown || row.status == kKneeMovedUp || row.status == kKneeUnclear;
}

// "L3/DRAM midpoint 41.0 ns".
std::string midpoint_text(const KneeDriftRow& row) {
  return fmt::format("{}/{} midpoint {} ns", row.level, row.next_level, or_missing(row.midpoint_ns, format_ns));
}

// "4 MiB read 15.1 ns".
std::string point_text(const std::optional<double>& bytes, const std::optional<double>& ns) {
  return fmt::format("{} read {} ns", or_missing(bytes, format_bytes), or_missing(ns, format_ns));
}

// The knee column: "held at 5.66 MiB", "moved: below 4 MiB", ...
std::string knee_cell(const KneeDriftRow& row) {
  if (row.status == kKneeHeld) return "held at " + format_bytes(row.sweep_knee_bytes);
  if (row.status == kKneeMovedDown) return "moved: below " + or_missing(row.below_bytes, format_bytes);
  if (row.status == kKneeMovedUp) return "moved: above " + or_missing(row.above_bytes, format_bytes);
  return row.status;
}

// One sentence per row, with its numbers and units.
std::string knee_sentence(const KneeDriftRow& row) {
  const std::string sweep = format_bytes(row.sweep_knee_bytes);
  if (row.status == kKneeHeld)
    return fmt::format("{} knee held at {}: {} and {}, either side of the {}", row.level, sweep,
                       point_text(row.below_bytes, row.below_ns), point_text(row.above_bytes, row.above_ns),
                       midpoint_text(row));
  if (row.status == kKneeMovedDown)
    return fmt::format("{} knee moved: {} at the sweep, below {} at the end ({}, above the {})", row.level, sweep,
                       or_missing(row.below_bytes, format_bytes), point_text(row.below_bytes, row.below_ns),
                       midpoint_text(row));
  if (row.status == kKneeMovedUp)
    return fmt::format("{} knee moved: {} at the sweep, above {} at the end ({}, not above the {})", row.level, sweep,
                       or_missing(row.above_bytes, format_bytes), point_text(row.above_bytes, row.above_ns),
                       midpoint_text(row));
  if (row.status == kKneeUnclear)
    return fmt::format("{} knee unclear: {} but {} (the {}): the latency fell as the working set grew, so the "
                       "machine moved between the two cases; the {} knee found at the sweep is not settled",
                       row.level, point_text(row.below_bytes, row.below_ns), point_text(row.above_bytes, row.above_ns),
                       midpoint_text(row), sweep);
  if (!row.midpoint_ns)
    return fmt::format("{} knee at {} not decided: no midpoint: the cache table gives no latency for {} and the "
                       "level past it on the {} curve",
                       row.level, sweep, row.level, row.page);
  return fmt::format("{} knee at {} not decided: its {} case has no result", row.level, sweep,
                     row.below_ns ? "above" : "below");
}

// The note under a table whose cells `which` ("L3", "L3 below") were marked
// "!": their repetitions spread past kNoisySpreadPct. "" when none was.
std::string noisy_repetitions_note(const std::string& which, const char* what, TableFormat format) {
  if (which.empty()) return "";
  return note_line(fmt::format("!: {}: the end-of-run repetitions themselves disagreed by more than {:.0f} %: the "
                               "machine was moving during the {} too",
                               which, kNoisySpreadPct, what),
                   format);
}

std::string format_change(const std::optional<double>& pct) {
  return pct ? fmt::format("{:+.1f} %", *pct) : std::string(kMissing);
}

// "latency drift: L1 +0.1 %, ..., DRAM -3.1 % (end of run vs sweep)".
std::vector<SummaryLine> drift_summary(const Results& results) {
  std::string text;
  for (const DriftRow& row : drift_rows(results))
    if (row.change_pct) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", row.level, format_change(row.change_pct));
  std::vector<SummaryLine> lines;
  if (!text.empty()) lines.push_back({5, "latency drift", text + " (the same working sets at the end of the run)"});
  std::string knees;
  for (const KneeDriftRow& row : knee_drift_rows(results))
    knees += fmt::format("{}{} {}", knees.empty() ? "" : ", ", row.level, knee_cell(row));
  if (!knees.empty()) lines.push_back({5, "knee drift", knees + " (half an octave either side, at the end of the run)"});
  return lines;
}

// derived.knee_drift from the knee-check cases (any order): one row per
// level and page, in the cache table's level order (level_rank).
template <class LevelRank>
void derive_knee_drift(Results& results, std::vector<const Case*> cases, const LevelRank& level_rank) {
  const std::string table_page = json_string(results.derived.extra, "latency_curve_page");
  const std::vector<CacheLevelRow>& levels = results.derived.cache_levels;
  std::stable_sort(cases.begin(), cases.end(),
                   [&](const Case* a, const Case* b) { return level_rank(a) < level_rank(b); });
  std::vector<KneeDriftRow> rows;
  for (const Case* c : cases) {
    const std::string level = param_text(c->params, "level");
    const std::string page = param_text(c->params, "page");
    auto row = std::find_if(rows.begin(), rows.end(),
                            [&](const KneeDriftRow& r) { return r.level == level && r.page == page; });
    if (row == rows.end()) {
      KneeDriftRow added;
      added.level = level;
      added.page = page;
      added.sweep_knee_bytes = param_number(*c, "knee_bytes").value_or(0);
      // The sweep's latencies of this level and the one past its knee, from
      // the curve the cases chased (the cache table's) only.
      const auto at = std::find_if(levels.begin(), levels.end(), [&](const CacheLevelRow& l) { return l.level == level; });
      if (at != levels.end() && std::next(at) != levels.end()) {
        added.next_level = std::next(at)->level;
        if (page == table_page) {
          added.level_ns = at->latency_ns;
          added.next_level_ns = std::next(at)->latency_ns;
        }
      }
      // On the log axis the sweep placed its knees on (analysis/knees.h): a
      // rising step only, as a knee is.
      if (added.level_ns && added.next_level_ns && *added.level_ns > 0 && *added.next_level_ns > *added.level_ns)
        added.midpoint_ns = std::sqrt(*added.level_ns * *added.next_level_ns);
      rows.push_back(added);
      row = std::prev(rows.end());
    }
    const std::string side = param_text(c->params, "knee_check");
    const auto bytes = param_number(*c, "working_set_bytes");
    const auto ns = metric(*c, "ns_per_load");
    const auto spread = c->spread.repetitions >= 2 ? std::optional<double>(spread_pct(c->spread)) : std::nullopt;
    if (side == "below") row->below_bytes = bytes, row->below_ns = ns, row->below_spread_pct = spread;
    if (side == "above") row->above_bytes = bytes, row->above_ns = ns, row->above_spread_pct = spread;
  }
  for (KneeDriftRow& row : rows) row.status = knee_status(row.below_ns, row.above_ns, row.midpoint_ns);
  store_rows(results, "knee_drift", rows, to_json);
}

}  // namespace

std::string knee_status(const std::optional<double>& below_ns, const std::optional<double>& above_ns,
                        const std::optional<double>& midpoint_ns) {
  if (!midpoint_ns) return kKneeNotDecided;
  // At the midpoint is still this level's side, as in the sweep's knee rule.
  const bool below_past = below_ns && *below_ns > *midpoint_ns;
  const bool above_within = above_ns && *above_ns <= *midpoint_ns;
  if (below_past && above_within) return kKneeUnclear;
  if (below_past) return kKneeMovedDown;
  if (above_within) return kKneeMovedUp;
  return below_ns && above_ns ? kKneeHeld : kKneeNotDecided;
}

std::vector<KneeDriftRow> knee_drift_rows(const Results& results) {
  return load_rows(results, "knee_drift", knee_drift_row_from_json);
}

std::optional<std::string> level_knee_moved(const Results& results, const std::string& level) {
  for (const KneeDriftRow& row : knee_drift_rows(results))
    if (row.level == level && knee_moved(row)) return knee_sentence(row);
  return std::nullopt;
}

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
  std::vector<const Case*> cases, knee_cases;
  for (const Case& c : results.cases)
    if (c.family == "drift") (c.params.contains("knee_check") ? knee_cases : cases).push_back(&c);
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
  derive_knee_drift(results, knee_cases, level_rank);
}

std::vector<DriftRow> drift_rows(const Results& results) { return load_rows(results, "drift", drift_row_from_json); }

std::optional<double> level_drift_pct(const Results& results, const std::string& level) {
  for (const DriftRow& row : drift_rows(results))
    if (row.level == level && row.change_pct) return std::fabs(*row.change_pct);
  return std::nullopt;
}

namespace {

std::string render_knee_drift_table(const Results& results, TableFormat format) {
  const std::vector<KneeDriftRow> knees = knee_drift_rows(results);
  if (knees.empty()) return "";
  std::string out = note_line(
      fmt::format("Knee drift: each detected cache size re-checked at the end of the run ({} pages, the same chain in "
                  "a fresh buffer, half an octave below and above it). The knee held if the point below still reads "
                  "at most the geometric midpoint between the sweep's latency of the level and of the next one (the "
                  "rule the sweep placed the knee by) and the point above reads more",
                  knees.front().page),
      format);
  std::vector<std::vector<std::string>> rows;
  std::string noisy;
  for (const KneeDriftRow& row : knees) {
    rows.push_back({row.level, format_bytes(row.sweep_knee_bytes), or_missing(row.below_bytes, format_bytes),
                    or_missing(row.below_ns, format_ns), format_spread(row.below_spread_pct),
                    or_missing(row.above_bytes, format_bytes), or_missing(row.above_ns, format_ns),
                    format_spread(row.above_spread_pct),
                    row.midpoint_ns ? fmt::format("{} ({})", format_ns(*row.midpoint_ns), row.next_level)
                                    : std::string(kMissing),
                    knee_cell(row)});
    for (const auto& [side, spread] : {std::pair{"below", row.below_spread_pct}, std::pair{"above", row.above_spread_pct}})
      if (spread && *spread > kNoisySpreadPct) noisy += fmt::format("{}{} {}", noisy.empty() ? "" : ", ", row.level, side);
  }
  out += render_table({{"level", false}, {"knee at sweep", true}, {"below", true}, {"below ns", true},
                       {"its spread", true}, {"above", true}, {"above ns", true}, {"its spread", true},
                       {"midpoint ns (to)", true}, {"knee at end", false}},
                      rows, format);
  out += noisy_repetitions_note(noisy, "check", format);
  std::string moved;
  for (const KneeDriftRow& row : knees) {
    if (row.status == kKneeHeld) continue;
    out += note_line(knee_sentence(row), format);
    if (knee_moved(row)) moved += (moved.empty() ? "" : ", ") + row.level;
  }
  if (!moved.empty())
    out += note_line(fmt::format("The cache size moved within one run at {}: a difference between two runs' detected "
                                 "sizes there is not the change you made (memprobe compare counts it as noise).",
                                 moved),
                     format);
  return out;
}

}  // namespace

std::string render_drift_table(const Results& results, TableFormat format) {
  const std::vector<DriftRow> drift = drift_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "drift");
  if (drift.empty() && unavailable.empty() && knee_drift_rows(results).empty()) return "";
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
    out += noisy_repetitions_note(noisy, "case", format);
    if (largest)
      out += note_line(fmt::format("Largest change: {} {}. The machine moved this much within one run: a difference "
                                   "between two runs' {} figures smaller than that is not the change you made "
                                   "(memprobe compare counts it as noise).",
                                   largest->level, format_change(largest->change_pct), largest->level),
                       format);
  }
  out += render_knee_drift_table(results, format);
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

FamilyDescriptor describe_drift() {
  return {.name = "drift", .run_rank = 9, .report_rank = 1, .tables = {{"drift"}, {"knee_drift"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_drift, .render = render_drift_table,
          .summary = drift_summary, .plots = nullptr, .compared = false, .level_noise_pct = level_drift_pct,
          .level_knee_moved = level_knee_moved};
}

}  // namespace memprobe::analysis
