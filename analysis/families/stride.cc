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
          {"note", s.note},
          {"points", points}};
}

StrideSet stride_set_from_json(const nlohmann::json& row) {
  StrideSet s;
  s.working_set_bytes = json_number(row, "working_set_bytes").value_or(0);
  s.page = json_string(row, "page");
  s.jump_stride_bytes = json_number(row, "jump_stride_bytes");
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

StrideLineEstimate stride_line_estimate(const std::vector<StrideSet>& sets) {
  if (sets.empty()) return {std::nullopt, "no stride sets"};
  std::vector<const StrideSet*> readers, rising, hidden;  // hidden: a plateau, no jump
  for (const StrideSet& set : sets) {
    if (rises_from_smallest_stride(set.points))
      rising.push_back(&set);
    else if (set.jump_stride_bytes)
      readers.push_back(&set);
    else
      hidden.push_back(&set);
  }
  // The sets that are not counted, and why.
  std::string aside;
  for (const auto& [uncounted, lacks] : {std::pair{&rising, "no small-stride plateau"}, {&hidden, "no clear jump"}})
    if (!uncounted->empty())
      aside += fmt::format("; {} {} {}", name_sets(*uncounted), uncounted->size() > 1 ? "have" : "has", lacks);
  if (readers.empty())
    return {std::nullopt, fmt::format("no set has a small-stride plateau with a jump at or below {}{}",
                                      format_bytes(kMaxJumpStrideBytes), aside)};
  const double line = *(*std::min_element(readers.begin(), readers.end(), [](const StrideSet* a, const StrideSet* b) {
                         return *a->jump_stride_bytes < *b->jump_stride_bytes;
                       }))->jump_stride_bytes;
  std::vector<const StrideSet*> at_line, one_later, beyond;
  for (const StrideSet* set : readers) {
    const double jump = *set->jump_stride_bytes;
    (jump == line ? at_line : jump == 2 * line ? one_later : beyond).push_back(set);
  }
  if (!beyond.empty()) {
    std::vector<std::string> jumps;
    for (const StrideSet* set : readers)
      jumps.push_back(fmt::format("{} jumps at {}", name_sets({set}), format_bytes(*set->jump_stride_bytes)));
    return {std::nullopt,
            fmt::format("the sets disagree by more than one doubling: {}{}", fmt::join(jumps, ", "), aside)};
  }
  std::string evidence = "jump stride of " + name_sets(at_line);
  if (!one_later.empty())
    evidence += fmt::format("; {} jump{} one doubling later, at {}, as behind a prefetcher of line pairs",
                            name_sets(one_later), one_later.size() > 1 ? "" : "s", format_bytes(2 * line));
  return {line, evidence + aside};
}

std::vector<StrideSet> derive_stride_sets(const Results& results) {
  std::map<double, StrideSet> sets;
  for (const Case& c : results.cases) {
    if (c.family != "stride") continue;
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
      set.note = "no clear jump in cost per access at or below 2 KiB stride (prefetchers may hide the line)";
    out.push_back(set);
  }
  return out;
}

void derive_stride(Results& results) {
  const std::vector<StrideSet> sets = derive_stride_sets(results);
  store_rows(results, "stride", sets, to_json);
  if (sets.empty())
    results.derived.extra.erase("stride_line_estimate_bytes");
  else
    results.derived.extra["stride_line_estimate_bytes"] = json_opt(stride_line_estimate(sets).line_bytes);
}

std::vector<StrideSet> stride_sets(const Results& results) { return load_rows(results, "stride", stride_set_from_json); }

std::string render_stride_table(const Results& results, TableFormat format) {
  const std::vector<StrideSet> sets = stride_sets(results);
  if (sets.empty()) return "";
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
    const bool jump_reads_line = set.jump_stride_bytes && !rises_from_smallest_stride(set.points);
    out += note_line(fmt::format("{} ({} pages, {}): {}", format_bytes(set.working_set_bytes), set.page, where,
                                 jump_reads_line ? fmt::format("cost per access jumps at {} stride",
                                                               format_bytes(*set.jump_stride_bytes))
                                                 : set.note),
                     format);
  }
  const StrideLineEstimate line = stride_line_estimate(sets);
  std::string hwloc;
  for (const CacheInfo& c : results.machine.caches)
    if (c.level == 1 && c.line_bytes > 0) {
      hwloc = fmt::format("; hwloc reports {} lines", format_bytes(c.line_bytes));
      break;
    }
  out += note_line(fmt::format("line size estimate: {} ({}){}",
                               line.line_bytes ? format_bytes(*line.line_bytes) : std::string("none"),
                               line.evidence, hwloc),
                   format);
  return out;
}

FamilyDescriptor describe_stride() {
  return {.name = "stride", .run_rank = 1, .report_rank = 5, .tables = {{"stride"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_stride, .render = render_stride_table,
          .summary = nullptr, .plots = nullptr};
}

}  // namespace memprobe::analysis
