#include "analysis/families/tlb.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <array>
#include <cmath>
#include <map>

#include "analysis/family.h"
#include "analysis/family_support.h"
#include "analysis/knees.h"

namespace memprobe::analysis {
namespace {

nlohmann::json to_json(const TlbLevelRow& r) {
  return {{"level", r.level},
          {"page", r.page},
          {"page_bytes", r.page_bytes},
          {"reported_entries", json_opt(r.reported_entries)},
          {"detected_entries", json_opt(r.detected_entries)},
          {"reach_bytes", json_opt(r.reach_bytes)},
          {"miss_cost_cycles", json_opt(r.miss_cost_cycles)},
          {"note", r.note}};
}

TlbLevelRow tlb_row_from_json(const nlohmann::json& row) {
  TlbLevelRow r;
  r.level = json_string(row, "level");
  r.page = json_string(row, "page");
  r.page_bytes = json_number(row, "page_bytes").value_or(0);
  r.reported_entries = json_number(row, "reported_entries");
  r.detected_entries = json_number(row, "detected_entries");
  r.reach_bytes = json_number(row, "reach_bytes");
  r.miss_cost_cycles = json_number(row, "miss_cost_cycles");
  r.note = json_string(row, "note");
  return r;
}

// "DTLB entries: 4k pages: L1 DTLB 64, L2 DTLB 1536 | thp pages: ...".
std::vector<SummaryLine> tlb_summary(const Results& results) {
  std::map<std::string, std::string> by_page;
  for (const TlbLevelRow& row : tlb_rows(results)) {
    const std::string value =
        row.detected_entries ? fmt::format("{:.0f}", *row.detected_entries) : std::string("no clear knee");
    std::string& text = by_page[row.page];
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", row.level, value);
  }
  std::string text;
  for (const auto& [page, levels] : by_page) text += fmt::format("{}{} pages: {}", text.empty() ? "" : " | ", page, levels);
  if (text.empty()) return {};
  return {{20, "DTLB entries", text}};  // after latency (0) and DRAM + translation (10)
}

}  // namespace

namespace {

// A case's repetition spread (max - min) in cycles: Case::spread is in the
// unit of its headline metric, scaled by cycles / that metric as cycles_of
// scales ns. nullopt without a spread (fewer than 2 repetitions) or a scale.
std::optional<double> spread_cycles(const Case& c, double cycles) {
  if (c.spread.repetitions < 2) return std::nullopt;
  const auto value = metric(c, headline_metric(c).c_str());
  if (!value || !(*value > 0)) return std::nullopt;
  return outlier_free_width(c.spread) * cycles / *value;
}

// The cases of one role at one N: their cycles and the spreads known of them.
struct RoleCases {
  std::vector<double> cycles, spreads;
  // Median of the known spreads; nullopt if none is known.
  std::optional<double> spread() const {
    return spreads.empty() ? std::nullopt : std::optional<double>(median_of(spreads));
  }
};

}  // namespace

std::vector<TlbPoint> tlb_curve(const Results& results, const std::string& page) {
  return page_spread_curve(results, "tlb", [&](const Case& c) { return param_text(c.params, "page") == page; });
}

std::vector<TlbPoint> page_spread_curve(const Results& results, std::string_view family,
                                        const std::function<bool(const Case&)>& selected) {
  std::map<double, RoleCases> tlb, ref;
  for (const Case& c : results.cases) {
    if (c.family != family) continue;
    const auto pages = json_number(c.params, "pages");
    const auto cycles = cycles_of(c, results.machine.core_hz);
    if (!pages || !cycles) continue;
    const std::string role = param_text(c.params, "role");
    // A huge-page figure counts only on a verified backing.
    const bool verified = c.backing.verified.empty() || c.backing.verified == c.backing.requested;
    RoleCases* to = nullptr;
    if (role == "tlb" && selected(c) && verified) to = &tlb[*pages];
    else if (role == "reference") to = &ref[*pages];
    if (!to) continue;
    to->cycles.push_back(*cycles);
    if (const auto spread = spread_cycles(c, *cycles)) to->spreads.push_back(*spread);
  }
  std::vector<TlbPoint> curve;
  for (const auto& [pages, chase] : tlb) {
    const auto it = ref.find(pages);
    if (it == ref.end()) continue;
    const auto tlb_spread = chase.spread(), ref_spread = it->second.spread();
    // delta = tlb - reference: its spread is both; unknown if either is.
    const double delta_spread = tlb_spread && ref_spread ? *tlb_spread + *ref_spread : 0;
    curve.push_back({pages, median_of(chase.cycles), median_of(it->second.cycles), delta_spread});
  }
  return curve;
}

bool has_unverified_tlb_cases(const Results& results, const std::string& page) {
  for (const Case& c : results.cases)
    if (c.family == "tlb" && param_text(c.params, "role") == "tlb" && param_text(c.params, "page") == page &&
        !c.backing.verified.empty() && c.backing.verified != c.backing.requested)
      return true;
  return false;
}

std::vector<std::string> tlb_pages(const Results& results) {
  std::vector<std::string> pages;
  for (const Case& c : results.cases) {
    if (c.family != "tlb" || param_text(c.params, "role") != "tlb") continue;
    const std::string page = param_text(c.params, "page");
    if (std::find(pages.begin(), pages.end(), page) == pages.end()) pages.push_back(page);
  }
  std::sort(pages.begin(), pages.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(page_rank(a), a) < std::make_pair(page_rank(b), b);
  });
  return pages;
}

namespace {

// Median of the known delta spreads of curve[first..last]; 0 if none is known.
double typical_delta_spread(const std::vector<TlbPoint>& curve, std::size_t first, std::size_t last) {
  std::vector<double> spreads;
  for (std::size_t k = first; k <= last && k < curve.size(); ++k)
    if (curve[k].delta_spread_cycles > 0) spreads.push_back(curve[k].delta_spread_cycles);
  return spreads.empty() ? 0 : median_of(spreads);
}

}  // namespace

std::vector<TlbStep> tlb_step_candidates(const std::vector<TlbPoint>& curve, const TlbStepRule& rule) {
  std::vector<TlbStep> steps;
  if (curve.size() < 4) return steps;
  std::vector<double> refs;
  for (const TlbPoint& p : curve) refs.push_back(p.ref_cycles);
  std::sort(refs.begin(), refs.end());
  const double floor_cycles = std::max(1.0, refs[refs.size() / 4]);
  std::vector<CurvePoint> points;
  for (const TlbPoint& p : curve)
    points.push_back({p.pages, floor_cycles + std::max(p.delta_cycles(), -floor_cycles / 2)});
  // tlb_curve's points are sorted by pages, one per N: segment_curve's
  // indices are the curve's.
  const Segmentation seg = segment_curve(points);
  for (const Knee& knee : seg.knees) {
    const Plateau& lower = seg.plateaus[knee.plateau_below];
    const Plateau& upper = seg.plateaus[knee.plateau_below + 1];
    TlbStep step;
    step.knee_pages = knee.size_bytes;
    step.below_cycles = lower.level - floor_cycles;
    step.above_cycles = upper.level - floor_cycles;
    if (step.height_cycles() <= 0) continue;
    step.noise_cycles = std::max(typical_delta_spread(curve, lower.first, lower.last),
                                 typical_delta_spread(curve, upper.first, upper.last));
    step.needed_cycles = step.noise_cycles > 0
                             ? std::max(rule.noise_multiple * step.noise_cycles, rule.min_step_cycles)
                             : rule.unknown_noise_step_cycles;
    step.rise_ratio = upper.level / lower.level;
    step.accepted = step.height_cycles() >= step.needed_cycles && step.rise_ratio >= rule.min_step_ratio;
    steps.push_back(step);
  }
  return steps;
}

namespace {

// The candidates the rule accepted, in order.
std::vector<TlbStep> accepted_steps(std::vector<TlbStep> candidates) {
  std::erase_if(candidates, [](const TlbStep& s) { return !s.accepted; });
  return candidates;
}

}  // namespace

std::vector<TlbStep> tlb_steps(const std::vector<TlbPoint>& curve, const TlbStepRule& rule) {
  return accepted_steps(tlb_step_candidates(curve, rule));
}

namespace {

// delta at `pages` on the log axis, linear between the neighbouring points;
// nullopt past the curve's ends.
std::optional<double> delta_at(const std::vector<TlbPoint>& curve, double pages) {
  for (std::size_t k = 0; k + 1 < curve.size(); ++k) {
    const TlbPoint &a = curve[k], &b = curve[k + 1];
    if (pages < a.pages || pages > b.pages) continue;
    const double f = b.pages > a.pages ? std::log2(pages / a.pages) / std::log2(b.pages / a.pages) : 0;
    return a.delta_cycles() + f * (b.delta_cycles() - a.delta_cycles());
  }
  return std::nullopt;
}

// Running median of 3 over delta: one point that a noisy reference pulled
// down must not end a rise that every neighbour sustains.
std::vector<double> smoothed_delta(const std::vector<TlbPoint>& curve) {
  std::vector<double> out;
  for (std::size_t k = 0; k < curve.size(); ++k) {
    if (k == 0 || k + 1 == curve.size()) {
      out.push_back(curve[k].delta_cycles());
      continue;
    }
    std::array<double, 3> w = {curve[k - 1].delta_cycles(), curve[k].delta_cycles(), curve[k + 1].delta_cycles()};
    std::sort(w.begin(), w.end());
    out.push_back(w[1]);
  }
  return out;
}

// The L1-hit latency F of tlb_step_candidates: the relative floor's scale.
double reference_floor_cycles(const std::vector<TlbPoint>& curve) {
  std::vector<double> refs;
  for (const TlbPoint& p : curve) refs.push_back(p.ref_cycles);
  std::sort(refs.begin(), refs.end());
  return refs.empty() ? 1.0 : std::max(1.0, refs[refs.size() / 4]);
}

// The sweep's grid step (4 points per octave): the least span past the
// plateau at which a height can be read.
constexpr double kGridStep = 1.189207115002721;  // 2^(1/4)

// The first level past the plateau starting at `start` (rule: tlb.h).
std::optional<TlbLevelStep> next_tlb_level(const std::vector<TlbPoint>& curve, const std::vector<double>& smooth,
                                           std::size_t start, std::optional<double> previous_plateau_cycles,
                                           double floor_cycles, const TlbStepRule& rule,
                                           std::optional<double> pte_outgrow_l1_pages) {
  for (std::size_t i = start + 1; i < curve.size(); ++i) {
    std::vector<double> plateau;
    for (std::size_t k = start; k < i; ++k) plateau.push_back(curve[k].delta_cycles());
    const double level = median_of(plateau);
    const double noise = typical_delta_spread(curve, start, i - 1);
    const double noise_needed =
        noise > 0 ? std::max(rule.noise_multiple * noise, rule.min_step_cycles) : rule.unknown_noise_step_cycles;
    // At least the previous level's miss cost (this plateau over the one before).
    const double needed =
        previous_plateau_cycles ? std::max(noise_needed, level - *previous_plateau_cycles) : noise_needed;
    bool sustained = true;
    for (std::size_t j = i; j < curve.size() && sustained; ++j) sustained = smooth[j] >= level + needed;
    if (!sustained) continue;
    TlbLevelStep step;
    step.plateau_pages = curve[i - 1].pages;
    step.plateau_cycles = level;
    step.needed_cycles = needed;
    const auto top = delta_at(curve, 2 * step.plateau_pages);
    step.top_past_sweep = !top;
    step.top_cycles = top ? *top : curve.back().delta_cycles();
    const double ratio = (floor_cycles + step.top_cycles) / (floor_cycles + std::max(level, -floor_cycles / 2));
    if (step.height_cycles() < needed || ratio < rule.min_step_ratio) continue;
    // A Zen 5 guest's L2 DTLB (4096 entries) misses on a quarter of the loads
    // at 1.19x its entries, while from 6144 pages on its walks' page-table
    // lines no longer fit the 48 KiB L1: the octave's height carries that,
    // and half of it read 5793 entries in two of three default runs.
    step.knee_top_cycles = step.top_cycles;
    if (pte_outgrow_l1_pages && *pte_outgrow_l1_pages >= kGridStep * step.plateau_pages &&
        *pte_outgrow_l1_pages < 2 * step.plateau_pages)
      if (const auto at = delta_at(curve, *pte_outgrow_l1_pages); at && *at > step.plateau_cycles)
        step.knee_top_cycles = *at;
    const double midpoint = (step.plateau_cycles + step.knee_top_cycles) / 2;
    std::size_t knee = i - 1;
    while (knee + 1 < curve.size() && curve[knee + 1].delta_cycles() <= midpoint) ++knee;
    step.knee_pages = curve[knee].pages;
    return step;
  }
  return std::nullopt;
}

}  // namespace

std::vector<TlbLevelStep> tlb_levels(const std::vector<TlbPoint>& curve, const TlbStepRule& rule,
                                     std::optional<double> max_l1_miss_cycles, std::size_t max_levels,
                                     std::optional<double> pte_outgrow_l1_pages) {
  std::vector<TlbLevelStep> levels;
  if (curve.size() < 4) return levels;
  const std::vector<double> smooth = smoothed_delta(curve);
  const double floor_cycles = reference_floor_cycles(curve);
  std::size_t start = 0;
  std::optional<double> previous_plateau;
  while (levels.size() < max_levels) {
    if (levels.size() == 1 && max_l1_miss_cycles && levels[0].height_cycles() > *max_l1_miss_cycles) break;
    const auto level = next_tlb_level(curve, smooth, start, previous_plateau, floor_cycles, rule, pte_outgrow_l1_pages);
    if (!level) break;
    levels.push_back(*level);
    // The next plateau starts where this level's rise is read as complete.
    start = curve.size();
    for (std::size_t k = 0; k < curve.size(); ++k)
      if (curve[k].pages >= 2 * level->plateau_pages) {
        start = k;
        break;
      }
    if (start + 2 > curve.size()) break;
    previous_plateau = level->plateau_cycles;
  }
  return levels;
}

std::vector<TlbStep> tlb_walk_cost_steps(const std::vector<TlbPoint>& curve, const std::vector<TlbLevelStep>& levels,
                                         const TlbStepRule& rule) {
  std::vector<TlbStep> steps = tlb_steps(curve, rule);
  const double past_pages = levels.empty() ? 0 : 2 * levels.back().plateau_pages;
  std::erase_if(steps, [&](const TlbStep& s) { return s.knee_pages < past_pages; });
  return steps;
}

namespace {

// The L1 and L2 DTLB rows of one page policy, before any knee is matched.
std::array<TlbLevelRow, 2> tlb_level_rows(const Results& results, const std::string& page) {
  std::array<TlbLevelRow, 2> level;
  for (int i = 0; i < 2; ++i) {
    level[i].level = i == 0 ? "L1 DTLB" : "L2 DTLB";
    level[i].page = page;
    level[i].page_bytes = page_bytes_of(results, page);
    level[i].reported_entries = reported_entries(results, i + 1, level[i].page_bytes);
  }
  return level;
}

// A huge-page L1 DTLB miss dearer than this many times the 4k one is a walk.
constexpr double kWalkLikeL1MissFactor = 2.0;

TlbStep as_step(const TlbLevelStep& level) {
  TlbStep s;
  s.knee_pages = level.knee_pages;
  s.below_cycles = level.plateau_cycles;
  s.above_cycles = level.top_cycles;
  s.needed_cycles = level.needed_cycles;
  s.accepted = true;
  return s;
}

// Knees to levels: in order; a lone knee to the nearer CPUID figure.
std::array<std::optional<TlbStep>, 2> match_tlb_steps(const std::vector<TlbStep>& steps,
                                                      const std::array<TlbLevelRow, 2>& level) {
  std::array<std::optional<TlbStep>, 2> matched;
  if (steps.size() >= 2) {
    matched = {steps[0], steps[1]};
  } else if (steps.size() == 1) {
    int to = 0;
    const auto r1 = level[0].reported_entries, r2 = level[1].reported_entries;
    if (r1 && r2) {
      const double x = std::log2(steps[0].knee_pages);
      to = std::abs(x - std::log2(*r2)) < std::abs(x - std::log2(*r1)) ? 1 : 0;
    }
    matched[to] = steps[0];
  }
  return matched;
}

// Why no rise counted: the largest one the rule turned down and what it
// lacked; "" if there was none.
std::string rejected_rise_text(const std::vector<TlbStep>& candidates, const TlbStepRule& rule) {
  const TlbStep* largest = nullptr;
  for (const TlbStep& s : candidates)
    if (!s.accepted && (!largest || s.height_cycles() > largest->height_cycles())) largest = &s;
  if (!largest) return "";
  const std::string rise =
      fmt::format("largest rise {:.1f} cycles after {:.0f} pages", largest->height_cycles(), largest->knee_pages);
  if (largest->height_cycles() < largest->needed_cycles) {
    const std::string why =
        largest->noise_cycles <= 0 ? "no repetition spread known"
        : rule.noise_multiple * largest->noise_cycles >= rule.min_step_cycles
            ? fmt::format("{:g}x its plateaus' repetition spread of {:.1f} cycles", rule.noise_multiple,
                          largest->noise_cycles)
            : "the floor for a TLB level";
    return fmt::format("{}, under the {:.1f} needed ({})", rise, largest->needed_cycles, why);
  }
  return fmt::format("{}, a {:.2f}x rise where {:g}x is needed", rise, largest->rise_ratio, rule.min_step_ratio);
}

// A level's figures from its step, or a note why it has none (with the
// largest rise the rule turned down, `rejected`, if any).
void fill_tlb_level(const Results& results, TlbLevelRow& row, const std::optional<TlbStep>& step,
                    const std::vector<TlbPoint>& curve, const std::string& rejected) {
  const double max_pages = curve.back().pages;
  const double min_pages = curve.front().pages;
  if (step) {
    row.detected_entries = step->knee_pages;
    row.reach_bytes = step->knee_pages * row.page_bytes;
    row.miss_cost_cycles = step->above_cycles - step->below_cycles;
    if (row.reported_entries) {
      const double ratio = *row.detected_entries / *row.reported_entries;
      if (ratio > kTlbDifferenceFactor || ratio < 1 / kTlbDifferenceFactor)
        row.note = fmt::format("detected {:.0f} vs CPUID's {:.0f} ({:+.0f}%){}", *row.detected_entries,
                               *row.reported_entries, (ratio - 1) * 100, vm_reason(results));
    }
  } else if (row.reported_entries && max_pages < kTlbDifferenceFactor * *row.reported_entries) {
    row.note = fmt::format("sweep ended at {:.0f} pages, before 1.25x CPUID's {:.0f} entries (memory or pool "
                           "limit: see unavailable)",
                           max_pages, *row.reported_entries);
  } else {
    row.note = fmt::format("no clear knee in tlb - reference over {:.0f}..{:.0f} pages", min_pages, max_pages);
    if (!rejected.empty()) append_note(row.note, rejected);
  }
}

// A huge-page L1 miss far dearer than on 4k pages is a walk, not an L2 hit.
void note_costly_l1_miss(const Results& results, TlbLevelRow& l1, const std::optional<double>& l1_miss_4k) {
  if (l1.page == "4k" || !l1_miss_4k || !l1.miss_cost_cycles ||
      *l1.miss_cost_cycles <= kWalkLikeL1MissFactor * *l1_miss_4k)
    return;
  append_note(l1.note,
              fmt::format("an L1 DTLB miss costs {:.0f} cycles here vs {:.0f} on 4k pages: these misses look like "
                          "walks, not L2 DTLB hits{}",
                          *l1.miss_cost_cycles, *l1_miss_4k,
                          results.machine.hypervisor
                              ? " (a guest's huge pages are only as large in the TLB as the host's backing)"
                              : ""));
}

}  // namespace

std::vector<TlbLevelRow> derive_tlb_levels(const Results& results) {
  std::vector<TlbLevelRow> rows;
  std::optional<double> l1_miss_4k;
  for (const std::string& page : tlb_pages(results)) {
    const std::vector<TlbPoint> curve = tlb_curve(results, page);
    std::array<TlbLevelRow, 2> level = tlb_level_rows(results, page);
    if (curve.size() < 4) {
      for (auto& row : level) {
        row.note = curve.empty() ? (has_unverified_tlb_cases(results, page)
                                        ? "not backed by huge pages (backing not verified): not measured"
                                        : "no tlb/reference pairs measured")
                                 : "too few points for a knee";
        rows.push_back(row);
      }
      continue;
    }
    const TlbStepRule rule;
    const std::vector<TlbStep> candidates = tlb_step_candidates(curve, rule);
    // A huge-page L1 miss far dearer than on 4k pages is already a walk.
    std::optional<double> max_l1_miss;
    if (page != "4k" && l1_miss_4k) max_l1_miss = kWalkLikeL1MissFactor * *l1_miss_4k;
    const std::vector<TlbLevelStep> found = tlb_levels(curve, rule, max_l1_miss, 2, pte_outgrow_l1_pages(results));
    std::vector<TlbStep> steps;
    for (const TlbLevelStep& f : found) steps.push_back(as_step(f));
    const std::array<std::optional<TlbStep>, 2> matched = match_tlb_steps(steps, level);
    const std::string rejected = rejected_rise_text(candidates, rule);
    for (int i = 0; i < 2; ++i) fill_tlb_level(results, level[i], matched[i], curve, rejected);
    if (found.size() == 1 && matched[0] && max_l1_miss && found[0].height_cycles() > *max_l1_miss)
      append_note(level[1].note, "no L2 DTLB hit plateau: the L1 DTLB misses already cost a walk");
    for (std::size_t i = 0; i < found.size() && i < 2; ++i)
      if (found[i].top_past_sweep) append_note(level[i].note, "the sweep ended within an octave of this knee: its miss cost is read at the last point");
    if (page == "4k" && level[0].miss_cost_cycles) l1_miss_4k = level[0].miss_cost_cycles;
    note_costly_l1_miss(results, level[0], l1_miss_4k);
    rows.push_back(level[0]);
    rows.push_back(level[1]);
  }
  return rows;
}

namespace {

// Each x86-64, AArch64 and RISC-V last-level page-table entry is 8 bytes.
constexpr double kPageTableEntryBytes = 8;

nlohmann::json walk_step_to_json(const TlbWalkStepRow& r) {
  return {{"page", r.page},
          {"pages", r.pages},
          {"step_cycles", r.step_cycles},
          {"to_cycles", r.to_cycles},
          {"page_table_bytes", r.page_table_bytes},
          {"past_cache", r.past_cache}};
}

TlbWalkStepRow walk_step_from_json(const nlohmann::json& row) {
  TlbWalkStepRow r;
  r.page = json_string(row, "page");
  r.pages = json_number(row, "pages").value_or(0);
  r.step_cycles = json_number(row, "step_cycles").value_or(0);
  r.to_cycles = json_number(row, "to_cycles").value_or(0);
  r.page_table_bytes = json_number(row, "page_table_bytes").value_or(0);
  r.past_cache = json_string(row, "past_cache");
  return r;
}

// The largest measured cache level smaller than `bytes`; "" if none.
std::string cache_outgrown_by(const Results& results, double bytes) {
  std::string level;
  for (const CacheLevelRow& row : results.derived.cache_levels)
    if (row.detected_bytes && *row.detected_bytes < bytes) level = row.level;
  return level;
}

std::vector<TlbWalkStepRow> derive_walk_steps(const Results& results) {
  std::vector<TlbWalkStepRow> rows;
  for (const std::string& page : tlb_pages(results)) {
    const std::vector<TlbPoint> curve = tlb_curve(results, page);
    const std::vector<TlbLevelStep> levels = tlb_levels(curve, {}, std::nullopt, 2, pte_outgrow_l1_pages(results));
    if (levels.empty()) continue;
    for (const TlbStep& s : tlb_walk_cost_steps(curve, levels)) {
      TlbWalkStepRow r;
      r.page = page;
      r.pages = s.knee_pages;
      r.step_cycles = s.height_cycles();
      r.to_cycles = s.above_cycles;
      r.page_table_bytes = s.knee_pages * kPageTableEntryBytes;
      r.past_cache = cache_outgrown_by(results, r.page_table_bytes);
      rows.push_back(r);
    }
  }
  return rows;
}

}  // namespace

std::optional<double> pte_outgrow_l1_pages(const Results& results) {
  for (const CacheLevelRow& row : results.derived.cache_levels)
    if (row.level == "L1" && row.detected_bytes && *row.detected_bytes > 0)
      return *row.detected_bytes / kPageTableEntryBytes;
  for (const CacheInfo& cache : results.machine.caches)
    if (cache.level == 1 && cache.kind != "instruction" && cache.size_bytes > 0)
      return static_cast<double>(cache.size_bytes) / kPageTableEntryBytes;
  return std::nullopt;
}

void derive_tlb(Results& results) {
  store_rows(results, "tlb", derive_tlb_levels(results), to_json);
  store_rows(results, "tlb_walk_steps", derive_walk_steps(results), walk_step_to_json);
}

std::vector<TlbLevelRow> tlb_rows(const Results& results) { return load_rows(results, "tlb", tlb_row_from_json); }

std::vector<TlbWalkStepRow> tlb_walk_step_rows(const Results& results) {
  return load_rows(results, "tlb_walk_steps", walk_step_from_json);
}

std::string render_tlb_table(const Results& results, TableFormat format) {
  const std::vector<TlbLevelRow> rows = tlb_rows(results);
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> cells;
  std::string notes;
  for (const TlbLevelRow& r : rows) {
    cells.push_back({r.level, r.page, opt_number(r.reported_entries), opt_number(r.detected_entries),
                     r.reach_bytes ? format_bytes(*r.reach_bytes) : kMissing,
                     opt_number(r.miss_cost_cycles, "{:.1f}")});
    if (!r.note.empty()) notes += note_line(fmt::format("{} {}: {}", r.level, r.page, r.note), format);
  }
  for (const TlbWalkStepRow& w : tlb_walk_step_rows(results)) {
    cells.push_back({"walk step", w.page, kMissing, fmt::format("{:.0f}", w.pages),
                     format_bytes(w.pages * page_bytes_of(results, w.page)), fmt::format("{:.1f}", w.step_cycles)});
    notes += note_line(
        fmt::format("walk step {} after {:.0f} pages (to {:.0f} cycles): {} of last-level page-table entries{}; not a "
                    "TLB level",
                    w.page, w.pages, w.to_cycles, format_bytes(w.page_table_bytes),
                    w.past_cache.empty() ? "" : fmt::format(", past the measured {}", w.past_cache)),
        format);
  }
  return render_table({{"TLB level", false},
                       {"page", false},
                       {"reported entries", true},
                       {"detected entries", true},
                       {"reach", true},
                       {"miss cost cycles", true}},
                      cells, format) +
         note_line("reported = CPUID; detected = the first lasting rise of (tlb - same-footprint reference) cycles vs "
                   "pages past the previous level, at least as high as that level's miss cost; miss cost = its height "
                   "one octave on; walk step = a later rise (the walk getting dearer)",
                   format) +
         notes;
}

std::vector<Plot> tlb_plots(const Results& results) {
  std::string script;
  std::vector<std::string> blocks, titles;
  for (const std::string& page : tlb_pages(results)) {
    const std::vector<TlbPoint> curve = tlb_curve(results, page);
    if (curve.empty()) continue;
    blocks.push_back(block_name("tlb", page));
    titles.push_back(page + " pages");
    script += blocks.back() + " << EOD\n";
    for (const TlbPoint& p : curve) script += fmt::format("{:.0f} {:.6g}\n", p.pages, p.delta_cycles());
    script += "EOD\n";
  }
  if (blocks.empty()) return {};
  script += fmt::format("set title {} noenhanced\n",
                        gnuplot_quote("TLB: extra cycles per load over a same-footprint reference, " + plot_title_of(results)));
  script +=
      "set logscale x 2\nset grid xtics ytics\nset xlabel 'pages touched (one line each)'\n"
      "set ylabel 'tlb - reference (cycles per load)'\nset key top left\nset format x '%.0f'\n";
  int arrow = 1;
  for (const TlbInfo& tlb : results.machine.tlb) {
    if (!tlb.entries || tlb.page_bytes != 4096) continue;
    script += fmt::format("set arrow {} from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dashtype 2 lc rgb 'gray40'\n",
                          arrow, *tlb.entries, *tlb.entries);
    script += fmt::format("set label {} {} at {:.6g}, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'\n",
                          arrow, gnuplot_quote(fmt::format("L{} DTLB 4K: {:.0f} entries (CPUID)", tlb.level, *tlb.entries)),
                          *tlb.entries);
    ++arrow;
  }
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.6");
  return {{"tlb", with_outputs("tlb", script),
           "TLB curves: extra cycles per load over a same-footprint reference against pages touched, per page "
           "kind; dashed lines mark the TLB entries the system reports"}};
}

namespace {

// memprobe fleet: the detected 4 KiB L1 and L2 DTLB entries.
std::vector<FleetColumn> tlb_fleet_columns() {
  std::vector<FleetColumn> columns;
  for (const char* level : {"L1 DTLB", "L2 DTLB"})
    columns.push_back({level, "detected_entries", true, [level = std::string(level)](const Results& r) {
                         const auto rows = r.derived.extra.find("tlb");
                         if (rows != r.derived.extra.end() && rows->is_array())
                           for (const nlohmann::json& row : *rows)
                             if (row.is_object() && json_string(row, "level") == level && json_string(row, "page") == "4k")
                               return json_number(row, "detected_entries");
                         return std::optional<double>();
                       }});
  return columns;
}

}  // namespace

std::optional<std::string> tlb_sweep_complete(const Results& results, const std::string& page) {
  const std::vector<TlbPoint> curve = tlb_curve(results, page);
  if (curve.empty()) return std::nullopt;
  const std::vector<TlbLevelStep> levels = tlb_levels(curve, {}, std::nullopt, 2, pte_outgrow_l1_pages(results));
  if (levels.size() < 2 || levels[1].top_past_sweep) return std::nullopt;
  const double l2_knee_pages = levels[1].knee_pages;
  if (curve.back().pages < kTlbPastL2KneeFactor * l2_knee_pages) return std::nullopt;
  return fmt::format("the {} curve went {:.0f}x past its L2 DTLB knee at {:.0f} pages", page,
                     curve.back().pages / l2_knee_pages, l2_knee_pages);
}

namespace {

// The pagewalk family sizes its walk from the detected 4 KiB DTLB entries.
void tlb_sizing_figures(const Results& results, SizingFigures& sizes) {
  for (const TlbLevelRow& row : derive_tlb_levels(results)) {
    if (row.page != "4k" || !row.detected_entries) continue;
    const auto entries = static_cast<std::uint64_t>(std::llround(*row.detected_entries));
    if (row.level == "L1 DTLB") sizes.l1_dtlb_entries_4k = entries;
    if (row.level == "L2 DTLB") sizes.l2_dtlb_entries_4k = entries;
  }
}

}  // namespace

FamilyDescriptor describe_tlb() {
  return {.name = "tlb", .run_rank = 2, .report_rank = 3, .tables = {{"tlb", 1, true, "", "pages"}, {"tlb_walk_steps"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_tlb, .render = render_tlb_table,
          .summary = tlb_summary, .plots = tlb_plots, .fleet_columns = tlb_fleet_columns(),
          .sweep_complete = tlb_sweep_complete, .sizing_figures = tlb_sizing_figures};
}

}  // namespace memprobe::analysis
