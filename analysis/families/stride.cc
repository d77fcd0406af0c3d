#include "analysis/families/stride.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "analysis/family.h"
#include "analysis/family_support.h"
#include "analysis/knees.h"

namespace memprobe::analysis {
namespace {

nlohmann::json to_json(const StrideSet& s) {
  nlohmann::json points = nlohmann::json::array();
  for (const StridePoint& p : s.points)
    points.push_back({{"stride_bytes", p.stride_bytes},
                      {"pattern", p.pattern},
                      {"ns_per_access", p.ns},
                      {"cycles_per_access", json_opt(p.cycles)},
                      {"lines_touched", p.lines_touched}});
  return {{"working_set_bytes", s.working_set_bytes},
          {"page", s.page},
          {"jump_stride_bytes", json_opt(s.jump_stride_bytes)},
          {"hidden_stride_bytes", json_opt(s.hidden_stride_bytes)},
          {"note", s.note},
          {"points", points}};
}

StrideSet stride_set_from_json(const nlohmann::json& row) {
  StrideSet s;
  s.working_set_bytes = json_number(row, "working_set_bytes").value_or(0);
  s.page = json_string(row, "page");
  s.jump_stride_bytes = json_number(row, "jump_stride_bytes");
  s.hidden_stride_bytes = json_number(row, "hidden_stride_bytes");
  s.note = json_string(row, "note");
  if (const auto points = row.find("points"); points != row.end() && points->is_array())
    for (const nlohmann::json& p : *points)
      if (p.is_object())
        s.points.push_back({json_number(p, "stride_bytes").value_or(0), json_string(p, "pattern"),
                            json_number(p, "ns_per_access").value_or(0), json_number(p, "cycles_per_access"),
                            json_number(p, "lines_touched").value_or(0)});
  return s;
}

}  // namespace

// A stride whose cost exceeds the small-stride plateau by this much has left
// it: above the 10 % spread that flags a noisy case, below the partial rise
// an adjacent-line prefetcher leaves at the line size. The same ratio
// between the two smallest strides tells a set with no plateau at all
// (rises_from_smallest_stride).
constexpr double kLineJumpRatio = 1.25;

std::optional<double> stride_jump(const std::vector<StridePoint>& points) {
  std::vector<CurvePoint> curve;
  for (const StridePoint& p : points)
    if (p.stride_bytes > 0 && p.ns > 0) curve.push_back({p.stride_bytes, p.ns});
  if (curve.size() < 4) return std::nullopt;
  const Segmentation seg = segment_curve(curve);
  for (const Knee& knee : seg.knees) {
    if (seg.plateaus[knee.plateau_below + 1].level <= seg.plateaus[knee.plateau_below].level) continue;
    // The first stride that costs clearly more than the small-stride
    // plateau: from there on loads stop sharing lines. The knee sits at the
    // step's midpoint, which can lie one stride later: an adjacent-line
    // prefetcher spreads the rise over two doublings (64 B, then 128 B).
    const double base_ns = seg.plateaus[knee.plateau_below].level;
    double stride = 0;
    for (std::size_t i = seg.plateaus[knee.plateau_below].first; i < seg.points.size(); ++i) {
      const CurvePoint& p = seg.points[i];
      if (p.value > base_ns * kLineJumpRatio || p.size_bytes > knee.size_bytes) {
        stride = p.size_bytes;
        break;
      }
    }
    if (stride == 0) return std::nullopt;
    return stride <= kMaxJumpStrideBytes ? std::optional<double>(stride) : std::nullopt;
  }
  return std::nullopt;
}

namespace {

// The fixed-stride points with a cost, strides ascending.
std::vector<const StridePoint*> fixed_points(const std::vector<StridePoint>& points) {
  std::vector<const StridePoint*> out;
  for (const StridePoint& p : points)
    if (p.stride_bytes > 0 && p.ns > 0) out.push_back(&p);
  return out;
}

// "the 7 MiB set", "the 4 MiB and 128 MiB sets".
std::string name_sets(const std::vector<const StrideSet*>& sets) {
  std::string names;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (i > 0) names += i + 1 == sets.size() ? " and " : ", ";
    names += format_bytes(sets[i]->working_set_bytes);
  }
  return fmt::format("the {} set{}", names, sets.size() > 1 ? "s" : "");
}

// The note of a set without a small-stride plateau: the rise that shows it.
std::string rising_note(const std::vector<StridePoint>& points) {
  const auto fixed = fixed_points(points);
  return fmt::format("no small-stride plateau: cost per access rises x{:.2f} from {} to {} stride already "
                     "(the rate of new lines binds it), so its jump is no line-size reading",
                     fixed[1]->ns / fixed[0]->ns, format_bytes(fixed[0]->stride_bytes),
                     format_bytes(fixed[1]->stride_bytes));
}

}  // namespace

bool rises_from_smallest_stride(const std::vector<StridePoint>& points) {
  const auto fixed = fixed_points(points);
  return fixed.size() >= 2 && fixed[1]->ns > fixed[0]->ns * kLineJumpRatio;
}

StridePrefetchBound stride_prefetch_bound(const std::vector<StrideSet>& sets) {
  if (sets.empty()) return {std::nullopt, "no stride sets"};
  std::vector<const StrideSet*> readers, rising, hidden;  // hidden: a plateau, no jump
  for (const StrideSet& set : sets) {
    if (rises_from_smallest_stride(set.points))
      rising.push_back(&set);
    else if (set.hidden_stride_bytes)
      readers.push_back(&set);
    else
      hidden.push_back(&set);
  }
  std::string aside;
  for (const auto& [uncounted, lacks] : {std::pair{&rising, "no small-stride plateau"}, {&hidden, "no clear jump"}})
    if (!uncounted->empty())
      aside += fmt::format("; {} {} {}", name_sets(*uncounted), uncounted->size() > 1 ? "have" : "has", lacks);
  if (readers.empty())
    return {std::nullopt, fmt::format("no set has a small-stride plateau with a jump at or below {}{}",
                                      format_bytes(kMaxJumpStrideBytes), aside)};
  // The prefetchers reach as far as they do in the set where they do best.
  const StrideSet* widest = *std::max_element(readers.begin(), readers.end(), [](const StrideSet* a, const StrideSet* b) {
    return *a->hidden_stride_bytes < *b->hidden_stride_bytes;
  });
  std::vector<std::string> per_set;
  for (const StrideSet* set : readers)
    per_set.push_back(fmt::format("{} in {}", format_bytes(*set->hidden_stride_bytes), name_sets({set})));
  return {widest->hidden_stride_bytes,
          fmt::format("largest stride on the small-stride plateau: {}{}", fmt::join(per_set, ", "), aside)};
}

namespace {

// The stride just below the set's jump (the previous fixed stride).
std::optional<double> hidden_below_jump(const std::vector<StridePoint>& points, double jump_stride_bytes) {
  std::optional<double> below;
  for (const StridePoint* p : fixed_points(points))
    if (p->stride_bytes < jump_stride_bytes) below = p->stride_bytes;
  return below;
}

}  // namespace

LineProbeReading read_line_probe(std::vector<LineProbePoint> points) {
  LineProbeReading out;
  std::erase_if(points, [](const LineProbePoint& p) { return !(p.offset_bytes > 0) || !(p.ns > 0); });
  std::sort(points.begin(), points.end(),
            [](const LineProbePoint& a, const LineProbePoint& b) { return a.offset_bytes < b.offset_bytes; });
  if (points.size() < 3) {
    out.evidence = fmt::format("the line probe has {} offset{} with a cost: too few to read a step", points.size(),
                               points.size() == 1 ? "" : "s");
    return out;
  }
  out.low_ns = points.front().ns;
  out.high_ns = points.back().ns;
  std::vector<double> spreads;
  for (const LineProbePoint& p : points)
    if (p.spread_ns) spreads.push_back(*p.spread_ns);
  if (spreads.empty()) {
    out.evidence = "the line probe's cases have no repetition spread (one repetition each): no noise to judge its "
                   "step against";
    return out;
  }
  out.noise_ns = median_of(spreads);
  const double jump = *out.high_ns - *out.low_ns;
  const std::string from_to = fmt::format("{:.2f} ns per load at {} offset, {:.2f} ns at {}", *out.low_ns,
                                          format_bytes(points.front().offset_bytes), *out.high_ns,
                                          format_bytes(points.back().offset_bytes));
  const double min_step = std::max(kLineProbeNoiseMultiple * *out.noise_ns, kLineProbeMinStepFraction * *out.low_ns);
  if (!(jump > min_step)) {
    out.evidence = fmt::format(
        "flat line probe: {}, a step of {:.2f} ns, not above {:g}x the repetition spread ({:.3f} ns) and {:.0f} % of "
        "the cost at {}: no offset's second load clearly costs a miss",
        from_to, jump, kLineProbeNoiseMultiple, *out.noise_ns, kLineProbeMinStepFraction * 100,
        format_bytes(points.front().offset_bytes));
    return out;
  }
  const double half = *out.low_ns + jump / 2;
  std::size_t first_past = points.size() - 1;  // the last point is past half by construction
  while (first_past > 0 && points[first_past - 1].ns > half) --first_past;
  const double line = points[first_past].offset_bytes;
  if (line > kLineProbeMaxLineBytes) {
    out.evidence = fmt::format("line probe: {}, only offsets above {} cost a miss, and the probe reads lines up to {} "
                               "only",
                               from_to, format_bytes(kLineProbeMaxLineBytes), format_bytes(kLineProbeMaxLineBytes));
    return out;
  }
  out.line_bytes = line;
  const std::string against_noise =
      *out.noise_ns > 0 ? fmt::format("{:.0f}x the repetition spread of {:.3f} ns", jump / *out.noise_ns, *out.noise_ns)
                        : std::string("the repetitions did not differ");
  out.evidence = fmt::format("line probe: the second load costs a miss from {} offset on: {}, a step of {:.2f} ns, {}",
                             format_bytes(line), from_to, jump, against_noise);
  std::vector<std::string> outliers;
  for (std::size_t i = 0; i < first_past; ++i)
    if (points[i].ns > half) outliers.push_back(format_bytes(points[i].offset_bytes));
  if (!outliers.empty())
    out.evidence += fmt::format("; {} past half the step too but followed by a cheaper offset: read as noise",
                                fmt::join(outliers, ", "));
  return out;
}

std::vector<LineProbePoint> line_probe_points(const Results& results) {
  std::vector<LineProbePoint> points;
  for (const Case& c : results.cases) {
    if (c.family != "stride" || param_text(c.params, "role") != "line_probe") continue;
    const auto offset = json_number(c.params, "offset_bytes");
    const auto ns = metric(c, "ns_per_load");
    if (!offset || !ns) continue;
    LineProbePoint p{*offset, *ns, cycles_of(c, results.machine.core_hz), std::nullopt};
    if (c.spread.repetitions >= 2 && c.spread.max >= c.spread.min) p.spread_ns = c.spread.max - c.spread.min;
    points.push_back(p);
  }
  std::sort(points.begin(), points.end(),
            [](const LineProbePoint& a, const LineProbePoint& b) { return a.offset_bytes < b.offset_bytes; });
  return points;
}

std::vector<StrideSet> derive_stride_sets(const Results& results) {
  std::map<double, StrideSet> sets;
  for (const Case& c : results.cases) {
    if (c.family != "stride" || param_text(c.params, "role") == "line_probe") continue;
    const auto ws = json_number(c.params, "working_set_bytes");
    const auto stride = json_number(c.params, "stride_bytes");
    const auto ns = metric(c, "ns_per_load");
    if (!ws || !stride || !ns) continue;
    StrideSet& set = sets[*ws];
    set.working_set_bytes = *ws;
    set.page = param_text(c.params, "page");
    StridePoint p;
    p.pattern = param_text(c.params, "pattern");
    p.stride_bytes = p.pattern == "random" ? 0 : *stride;
    p.ns = *ns;
    p.cycles = cycles_of(c, results.machine.core_hz);
    p.lines_touched = json_number(c.params, "lines_touched").value_or(0);
    set.points.push_back(p);
  }
  std::vector<StrideSet> out;
  for (auto& [ws, set] : sets) {
    std::sort(set.points.begin(), set.points.end(), [](const StridePoint& a, const StridePoint& b) {
      const double ka = a.stride_bytes == 0 ? 1e300 : a.stride_bytes;
      const double kb = b.stride_bytes == 0 ? 1e300 : b.stride_bytes;
      return ka < kb;
    });
    set.jump_stride_bytes = stride_jump(set.points);
    if (rises_from_smallest_stride(set.points))
      set.note = rising_note(set.points);
    else if (!set.jump_stride_bytes)
      set.note = "no clear jump in cost per access at or below 2 KiB stride";
    else
      set.hidden_stride_bytes = hidden_below_jump(set.points, *set.jump_stride_bytes);
    out.push_back(set);
  }
  return out;
}

namespace {

// The L1 data cache's line as hwloc reported it; nullopt if unknown.
std::optional<double> hwloc_line_bytes(const Results& results) {
  for (const CacheInfo& c : results.machine.caches)
    if (c.level == 1 && c.kind != "instruction" && c.line_bytes > 0) return c.line_bytes;
  return std::nullopt;
}

nlohmann::json line_probe_json(const Results& results, const std::vector<StrideSet>& sets) {
  const std::vector<LineProbePoint> points = line_probe_points(results);
  LineProbeReading reading;
  if (points.empty()) {
    // A run that left the probe out says why in its unavailable entries.
    std::string why = "it has no line-probe cases (written before the probe existed)";
    for (const UnavailableFigure& u : results.unavailable)
      if (u.what.rfind("stride/line_probe", 0) == 0) {
        why = "its line-probe cases were left out (" + u.reason + ")";
        break;
      }
    reading.evidence = fmt::format(
        "the line size was not probed in this file: {}, and its stride sets bound the prefetchers only, never the line",
        why);
  } else {
    reading = read_line_probe(points);
  }
  const std::optional<double> hwloc = hwloc_line_bytes(results);
  const StridePrefetchBound bound = stride_prefetch_bound(sets);
  nlohmann::json json_points = nlohmann::json::array();
  for (const LineProbePoint& p : points)
    json_points.push_back({{"offset_bytes", p.offset_bytes},
                           {"ns_per_load", p.ns},
                           {"cycles_per_load", json_opt(p.cycles)},
                           {"spread_ns", json_opt(p.spread_ns)}});
  nlohmann::json agrees = nullptr;
  if (reading.line_bytes && hwloc) agrees = *reading.line_bytes == *hwloc;
  return {{"line_bytes", json_opt(reading.line_bytes)},
          {"evidence", reading.evidence},
          {"low_ns", json_opt(reading.low_ns)},
          {"high_ns", json_opt(reading.high_ns)},
          {"noise_ns", json_opt(reading.noise_ns)},
          {"hwloc_line_bytes", json_opt(hwloc)},
          {"agrees_with_hwloc", agrees},
          {"prefetch_hidden_stride_bytes", json_opt(bound.hidden_stride_bytes)},
          {"prefetch_evidence", bound.evidence},
          {"points", json_points}};
}

}  // namespace

void derive_stride(Results& results) {
  const std::vector<StrideSet> sets = derive_stride_sets(results);
  store_rows(results, "stride", sets, to_json);
  const bool has_probe = !line_probe_points(results).empty();
  if (sets.empty() && !has_probe) {
    results.derived.extra.erase("stride_line_estimate_bytes");
    results.derived.extra.erase("stride_line_probe");
    return;
  }
  nlohmann::json probe = line_probe_json(results, sets);
  results.derived.extra["stride_line_estimate_bytes"] = probe["line_bytes"];
  results.derived.extra["stride_line_probe"] = std::move(probe);
}

std::vector<StrideSet> stride_sets(const Results& results) { return load_rows(results, "stride", stride_set_from_json); }

namespace {

// derived.stride_line_probe, or nullptr.
const nlohmann::json* line_probe_member(const Results& results) {
  if (!results.derived.extra.is_object()) return nullptr;
  const auto it = results.derived.extra.find("stride_line_probe");
  return it != results.derived.extra.end() && it->is_object() ? &*it : nullptr;
}

std::string render_sets(const Results& results, const std::vector<StrideSet>& sets, TableFormat format) {
  std::vector<Column> titles = {{"stride", false}, {"pattern", false}};
  std::map<double, std::pair<std::string, std::vector<std::string>>> by_stride;  // stride -> (pattern, cells)
  for (std::size_t s = 0; s < sets.size(); ++s) {
    titles.push_back({fmt::format("{} ns", format_bytes(sets[s].working_set_bytes)), true});
    titles.push_back({fmt::format("{} cycles", format_bytes(sets[s].working_set_bytes)), true});
    for (const StridePoint& p : sets[s].points) {
      const double key = p.stride_bytes == 0 ? 1e300 : p.stride_bytes;
      auto& [pattern, row] = by_stride[key];
      pattern = p.pattern;
      row.resize(2 * sets.size(), kMissing);
      row[2 * s] = fmt::format("{:.2f}", p.ns);
      row[2 * s + 1] = opt_number(p.cycles, "{:.1f}");
    }
  }
  std::vector<std::vector<std::string>> cells;
  for (auto& [key, entry] : by_stride) {
    std::vector<std::string> row = {key >= 1e300 ? "random" : format_bytes(key), entry.first};
    row.insert(row.end(), entry.second.begin(), entry.second.end());
    cells.push_back(row);
  }
  std::string out = render_table(titles, cells, format);
  out += note_line("cost per access; fixed working set, so large strides touch fewer lines (working set / stride)",
                   format);
  // Where each set lies, by the levels this run measured (a set capped by
  // --max-working-set may still fit the last level).
  const std::vector<CacheInfo> caches = labelling_caches(results);
  const CacheInfo* largest_cache = nullptr;
  for (const CacheInfo& c : caches)
    if (c.kind != "instruction" && (!largest_cache || c.size_bytes > largest_cache->size_bytes)) largest_cache = &c;
  for (const StrideSet& set : sets) {
    const std::string where =
        largest_cache && set.working_set_bytes <= largest_cache->size_bytes
            ? fmt::format("fits the {} L{}", format_bytes(largest_cache->size_bytes), largest_cache->level)
            : std::string("beyond the caches");
    const bool plateau_jump = set.jump_stride_bytes && set.hidden_stride_bytes && !rises_from_smallest_stride(set.points);
    out += note_line(fmt::format("{} ({} pages, {}): {}", format_bytes(set.working_set_bytes), set.page, where,
                                 plateau_jump ? fmt::format("cost per access jumps at {} stride: the prefetchers hide "
                                                            "strides up to {}",
                                                            format_bytes(*set.jump_stride_bytes),
                                                            format_bytes(*set.hidden_stride_bytes))
                                              : set.note),
                     format);
  }
  const StridePrefetchBound bound = stride_prefetch_bound(sets);
  out += note_line(bound.hidden_stride_bytes
                       ? fmt::format("the prefetchers hide strides up to {} ({}); a bound on the prefetchers, not the "
                                     "line size",
                                     format_bytes(*bound.hidden_stride_bytes), bound.evidence)
                       : fmt::format("prefetcher reach: none read ({})", bound.evidence),
                   format);
  return out;
}

std::string render_line_probe(const nlohmann::json& probe, TableFormat format) {
  std::string out;
  const auto points = probe.find("points");
  if (points != probe.end() && points->is_array() && !points->empty()) {
    std::vector<std::vector<std::string>> cells;
    for (const nlohmann::json& p : *points) {
      if (!p.is_object()) continue;
      cells.push_back({format_bytes(json_number(p, "offset_bytes").value_or(0)),
                       opt_number(json_number(p, "ns_per_load"), "{:.2f}"),
                       opt_number(json_number(p, "cycles_per_load"), "{:.1f}"),
                       opt_number(json_number(p, "spread_ns"), "{:.2f}")});
    }
    out += render_table({{"offset", true}, {"ns/load", true}, {"cycles/load", true}, {"spread ns", true}}, cells,
                        format);
    out += note_line("line probe: random chunks, two dependent loads in each, the second `offset` below the first; "
                     "it shares the first's line while offset < line",
                     format);
  }
  const std::optional<double> line = json_number(probe, "line_bytes");
  const std::optional<double> hwloc = json_number(probe, "hwloc_line_bytes");
  std::string versus;
  if (hwloc && line)
    versus = *line == *hwloc ? fmt::format("; hwloc reports {} lines too", format_bytes(*hwloc))
                             : fmt::format("; hwloc reports {} lines: the probe and hwloc disagree",
                                           format_bytes(*hwloc));
  else if (hwloc)
    versus = fmt::format("; hwloc reports {} lines", format_bytes(*hwloc));
  out += note_line(fmt::format("line size: {} ({}){}", line ? format_bytes(*line) : std::string("none"),
                               json_string(probe, "evidence"), versus),
                   format);
  return out;
}

}  // namespace

std::string render_stride_table(const Results& results, TableFormat format) {
  const std::vector<StrideSet> sets = stride_sets(results);
  const nlohmann::json* probe = line_probe_member(results);
  std::string out;
  if (!sets.empty()) out += render_sets(results, sets, format);
  if (probe) {
    if (!out.empty()) out += "\n";
    out += render_line_probe(*probe, format);
  }
  return out;
}

namespace {

// "64 B (line probe; hwloc 64 B) | the prefetchers hide strides up to 64 B",
// from derived.stride_line_probe; none without it.
std::vector<SummaryLine> stride_summary(const Results& results) {
  const nlohmann::json* probe = line_probe_member(results);
  if (!probe) return {};
  const std::optional<double> line = json_number(*probe, "line_bytes");
  const std::optional<double> hwloc = json_number(*probe, "hwloc_line_bytes");
  const auto points = probe->find("points");
  const bool probed = points != probe->end() && points->is_array() && !points->empty();
  std::vector<std::string> why;
  if (probed) why.push_back(line ? "line probe" : "flat line probe");
  if (hwloc)
    why.push_back(fmt::format("hwloc {}{}", format_bytes(*hwloc), line && *hwloc != *line ? ": they disagree" : ""));
  std::string text = line ? format_bytes(*line) : probed ? std::string("none") : std::string("not probed");
  if (!why.empty()) text += fmt::format(" ({})", fmt::join(why, "; "));
  if (const std::optional<double> hidden = json_number(*probe, "prefetch_hidden_stride_bytes"))
    text += fmt::format(" | the prefetchers hide strides up to {}", format_bytes(*hidden));
  return {{25, "cache line", text}};  // after the DTLB entries (20), before huge pages (30)
}

}  // namespace

FamilyDescriptor describe_stride() {
  return {.name = "stride", .run_rank = 1, .report_rank = 5, .tables = {{"stride"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_stride, .render = render_stride_table,
          .summary = stride_summary, .plots = nullptr};
}

}  // namespace memprobe::analysis
