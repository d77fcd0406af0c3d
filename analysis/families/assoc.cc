#include "analysis/families/assoc.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/families/tlb.h"
#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {

using nlohmann::json;

namespace {

// A plateau belongs to a level when its cost is within this factor of the
// level's hit latency (levels differ by 2-4x).
constexpr double kLevelMatchFactor = 1.35;
// Ways read at two strides agree within this many lines (or 10 %).
constexpr double kWaysTolerance = 1;
// A reach that keeps at least this share of its first figure as the stride
// grows does not shrink: the level is fully associative.
constexpr double kFullyAssociativeShare = 0.5;
// reach x stride at two strides below the set count agree within this factor
// (each knee is known to a grid step or two).
constexpr double kProductAgreement = 1.5;
// Measured and reported entry counts further apart than this get a line.
constexpr double kEntriesDisagreeFactor = 1.25;

bool near_ways(double a, double b) { return std::fabs(a - b) <= std::max(kWaysTolerance, 0.1 * std::max(a, b)); }

// "4 KiB" for a stride, "2 KiB" ...
std::string stride_text(double bytes) { return format_bytes(bytes); }

std::string ns_text(double ns) { return format_ns(ns) + " ns"; }

// The hit latency of each level: the latency family's cache table where the
// run has it, else the L1 probe's own plateaus (lines one L1 way stride apart
// hit the L1 up to its ways; past them they miss it and, on any pages, hit
// the L2, whose sets they spread over).
std::map<std::string, double> level_latencies(const Results& results,
                                              const std::map<std::string, std::map<double, std::vector<AssocPoint>>>& curves) {
  std::map<std::string, double> latency;
  for (const CacheLevelRow& row : results.derived.cache_levels)
    if (row.latency_ns && row.level != "DRAM") latency[row.level] = *row.latency_ns;
  if (latency.count("L1")) return latency;
  const auto l1 = curves.find("L1");
  if (l1 == curves.end() || l1->second.empty()) return latency;
  const std::vector<AssocPlateau> plateaus = assoc_plateaus(l1->second.rbegin()->second);
  if (!plateaus.empty()) latency["L1"] = plateaus[0].ns;
  if (plateaus.size() > 1) latency["L2"] = plateaus[1].ns;
  return latency;
}

// The level whose hit latency this cost is (within kLevelMatchFactor), or "".
std::string level_of(double ns, const std::map<std::string, double>& latency) {
  std::string best;
  double best_distance = std::log(kLevelMatchFactor);
  for (const auto& [level, level_ns] : latency) {
    const double distance = std::fabs(std::log(ns / level_ns));
    if (distance <= best_distance) {
      best = level;
      best_distance = distance;
    }
  }
  return best;
}

// One stride's reading: the ways, or why none.
struct StrideReading {
  double stride_bytes = 0;
  std::optional<double> ways;          // the level's plateau ended in a costlier one
  std::optional<double> at_most_ways;  // the curve went from an inner level's hits past this level's
  bool no_conflict = false;            // the level's plateau lasted to the largest k
  double max_lines = 0;
  double level_ns = 0;
  double beyond_ns = 0;  // the plateau after the level's
  // The last k of a gradual step: past `ways`, the points still below
  // kGradualShare of the next plateau's cost (they missed only in part).
  std::optional<double> gradual_to;
};

// A point past the ways that costs less than this share of the level the
// curve settles on missed only in part: the step is gradual. Where nothing
// disturbs the set, the first k past the ways costs the most of all (every
// load of a cyclic chase misses in an LRU set), never less.
constexpr double kGradualShare = 0.9;

StrideReading read_stride(const std::string& level, double stride_bytes, const std::vector<AssocPoint>& points,
                          const std::map<std::string, double>& latency) {
  StrideReading r;
  r.stride_bytes = stride_bytes;
  for (const AssocPoint& p : points) r.max_lines = std::max(r.max_lines, p.lines);
  const std::vector<AssocPlateau> plateaus = assoc_plateaus(points);
  if (plateaus.empty()) return r;
  const auto own = latency.find(level);
  std::optional<std::size_t> index;
  if (level == "L1") index = 0;  // its first plateau is the L1 hit by construction
  else if (own != latency.end())
    for (std::size_t i = 0; i < plateaus.size(); ++i)
      if (level_of(plateaus[i].ns, latency) == level) index = i;
  if (index) {
    r.level_ns = plateaus[*index].ns;
    if (*index + 1 < plateaus.size()) {
      r.ways = plateaus[*index].last_lines;
      // The level the curve settles on: the next plateau of two points or
      // more (a gradual step leaves one-point plateaus on its way up).
      std::size_t next = *index + 1;
      while (next + 1 < plateaus.size() && plateaus[next].first_lines == plateaus[next].last_lines) ++next;
      r.beyond_ns = plateaus[next].ns;
      std::vector<AssocPoint> past = points;
      std::sort(past.begin(), past.end(), [](const AssocPoint& a, const AssocPoint& b) { return a.lines < b.lines; });
      for (const AssocPoint& p : past) {
        if (p.lines <= *r.ways) continue;
        if (!(p.ns < kGradualShare * r.beyond_ns)) break;
        r.gradual_to = p.lines;
      }
    } else {
      r.no_conflict = true;
    }
    return r;
  }
  // No plateau at this level's latency: lines that left an inner level went
  // straight past this one, so it holds no more of them than the inner one.
  if (own != latency.end() && plateaus.size() > 1 && plateaus[0].ns < own->second) {
    r.at_most_ways = plateaus[0].last_lines;
    r.level_ns = plateaus[0].ns;
    r.beyond_ns = plateaus[1].ns;
  }
  return r;
}

// Why a physically indexed level shows no conflict where the geometry predicts one.
std::string not_visible_reason(const Results& results, const std::string& pages) {
  if (pages == "4k" || pages.empty())
    return "on 4 KiB pages the kernel chooses the physical address bits above 4 KiB that index this level";
  if (results.machine.hypervisor)
    return fmt::format("under {} the guest's {} pages need not be contiguous on the host, which then chooses the "
                       "physical index bits above 4 KiB",
                       *results.machine.hypervisor, pages);
  return "a hashed or sliced index (as on Intel L3s) or an adaptive replacement policy spreads lines the geometry "
         "puts in one set";
}

AssocCacheRow cache_row(const Results& results, const std::string& level,
                        const std::map<double, std::vector<AssocPoint>>& by_stride,
                        const std::map<std::string, double>& latency, const std::string& pages, double line_bytes,
                        std::optional<double> reported_ways, const std::map<double, std::string>& physical) {
  AssocCacheRow row;
  row.level = level;
  row.pages = pages;
  row.reported_ways = reported_ways;
  for (const CacheInfo& c : caches_by_level(results.machine.caches))
    if (cache_label(c) == level + "d" || (cache_label(c) == level && c.kind != "instruction"))
      row.reported_bytes = c.size_bytes;
  std::vector<StrideReading> readings;
  for (const auto& [stride, points] : by_stride) readings.push_back(read_stride(level, stride, points, latency));
  if (readings.empty()) return row;
  // The ways: the reading at the largest stride that has one (a stride at or
  // past the way stride puts every line in one set).
  std::optional<double> ways;
  for (auto it = readings.rbegin(); it != readings.rend() && !ways; ++it) ways = it->ways;
  if (ways) {
    row.ways = *ways;
    row.verdict = "measured";
    // The way stride: the smallest stride still giving those ways.
    const StrideReading* smallest = nullptr;
    for (const StrideReading& r : readings)
      if (r.ways && near_ways(*r.ways, *ways) && !smallest) smallest = &r;
    if (smallest) {
      row.way_stride_bytes = smallest->stride_bytes;
      row.way_stride_upper_bound = smallest == &readings.front();
      if (line_bytes > 0 && !row.way_stride_upper_bound) row.sets = smallest->stride_bytes / line_bytes;
    }
    const StrideReading& at = *smallest;
    if (at.gradual_to) row.ways_gradual_to = *at.gradual_to;
    row.evidence = fmt::format("{} lines {} apart read {} per load, {} and more read {}", *ways,
                               stride_text(at.stride_bytes), ns_text(at.level_ns), *ways + 1,
                               ns_text(at.beyond_ns));
    if (at.gradual_to)
      row.evidence += fmt::format("; the step is gradual: {} to {:.0f} lines read between the hit and the miss cost "
                                  "(they missed in part), as when something else (an SMT sibling, a kernel thread) "
                                  "keeps lines of these sets warm during the probe: the level has up to {:.0f} ways",
                                  *ways + 1, *at.gradual_to, *at.gradual_to);
    if (smallest != &readings.front()) {
      const StrideReading& half = *(smallest - 1);
      if (half.ways)
        row.evidence += fmt::format("; at {} the lines spread over two sets and {} fit", stride_text(half.stride_bytes),
                                    *half.ways);
      else if (half.no_conflict)
        row.evidence += fmt::format("; at {} up to {} lines fit", stride_text(half.stride_bytes), half.max_lines);
    }
    return row;
  }
  for (const StrideReading& r : readings)
    if (r.at_most_ways) {
      row.verdict = "at most";
      row.ways = *r.at_most_ways;
      row.evidence = fmt::format("lines {} apart hit an inner level up to {} and then read {}, past this level's {} "
                                 "hit: it holds no more of them than the inner level",
                                 stride_text(r.stride_bytes), *r.at_most_ways, ns_text(r.beyond_ns),
                                 ns_text(latency.at(level)));
      return row;
    }
  const StrideReading& last = readings.back();
  if (last.no_conflict) {
    row.verdict = "not visible";
    row.evidence = fmt::format("up to {} lines {} apart on {} pages all read {} (this level's hit): no conflict "
                               "where {} ways predict one; {}",
                               last.max_lines, stride_text(last.stride_bytes), pages.empty() ? "4k" : pages,
                               ns_text(last.level_ns),
                               reported_ways ? fmt::format("{:.0f}", *reported_ways) : std::string("the reported"),
                               not_visible_reason(results, pages));
    const auto seen = physical.find(last.stride_bytes);
    if (seen != physical.end() && seen->second == "yes")
      row.evidence += fmt::format("; /proc/self/pagemap puts the lines' {}physical addresses {} apart, in one set of "
                                  "the level: the conflict is hidden past them",
                                  results.machine.hypervisor ? "(guest-)" : "", stride_text(last.stride_bytes));
    else if (seen != physical.end() && seen->second == "no")
      row.evidence += "; /proc/self/pagemap shows the lines' physical addresses in different sets: these pages are "
                      "not contiguous enough to probe this level";
    return row;
  }
  row.verdict = "not decided";
  row.evidence = latency.count(level) ? "the curve shows no plateau at this level's latency"
                                      : "no hit latency for this level (run the latency family with it)";
  return row;
}

json to_json(const AssocCacheRow& r) {
  return {{"level", r.level},
          {"reported_ways", json_opt(r.reported_ways)},
          {"reported_bytes", json_opt(r.reported_bytes)},
          {"measured_ways", json_opt(r.ways)},
          {"ways_gradual_to", json_opt(r.ways_gradual_to)},
          {"way_stride_bytes", json_opt(r.way_stride_bytes)},
          {"way_stride_upper_bound", r.way_stride_upper_bound},
          {"sets", json_opt(r.sets)},
          {"verdict", r.verdict},
          {"evidence", r.evidence},
          {"page", r.pages}};
}

AssocCacheRow cache_row_from_json(const json& j) {
  AssocCacheRow r;
  r.level = json_string(j, "level");
  r.reported_ways = json_number(j, "reported_ways");
  r.reported_bytes = json_number(j, "reported_bytes");
  r.ways = json_number(j, "measured_ways");
  r.ways_gradual_to = json_number(j, "ways_gradual_to");
  r.way_stride_bytes = json_number(j, "way_stride_bytes");
  r.way_stride_upper_bound = json_bool(j, "way_stride_upper_bound").value_or(false);
  r.sets = json_number(j, "sets");
  r.verdict = json_string(j, "verdict");
  r.evidence = json_string(j, "evidence");
  r.pages = json_string(j, "page");
  return r;
}

json to_json(const AssocTlbStrideRow& r) {
  return {{"stride_pages", r.stride_pages},
          {"l1_reach_pages", json_opt(r.l1_reach_pages)},
          {"l2_reach_pages", json_opt(r.l2_reach_pages)},
          {"first_rise_cycles", json_opt(r.first_rise_cycles)},
          {"second_rise_cycles", json_opt(r.second_rise_cycles)}};
}

AssocTlbStrideRow stride_row_from_json(const json& j) {
  return {json_number(j, "stride_pages").value_or(0), json_number(j, "l1_reach_pages"),
          json_number(j, "l2_reach_pages"), json_number(j, "first_rise_cycles"), json_number(j, "second_rise_cycles")};
}

json to_json(const AssocTlbRow& r) {
  return {{"level", r.level},
          {"page", r.page},
          {"reported_entries", json_opt(r.reported_entries)},
          {"reported_ways", json_opt(r.reported_ways)},
          {"entries", json_opt(r.entries)},
          {"sets", json_opt(r.sets)},
          {"measured_ways", json_opt(r.ways)},
          {"sets_lower_bound", r.sets_lower_bound},
          {"verdict", r.verdict},
          {"evidence", r.evidence}};
}

AssocTlbRow tlb_row_from_json(const json& j) {
  AssocTlbRow r;
  r.level = json_string(j, "level");
  r.page = json_string(j, "page");
  r.reported_entries = json_number(j, "reported_entries");
  r.reported_ways = json_number(j, "reported_ways");
  r.entries = json_number(j, "entries");
  r.sets = json_number(j, "sets");
  r.ways = json_number(j, "measured_ways");
  r.sets_lower_bound = json_bool(j, "sets_lower_bound").value_or(false);
  r.verdict = json_string(j, "verdict");
  r.evidence = json_string(j, "evidence");
  return r;
}

// The reach of one level at each stride that has it, ascending stride.
using ReachSeries = std::vector<std::pair<double, double>>;

AssocTlbRow tlb_level_row(const std::string& level, const ReachSeries& reach, const Results& results,
                          const ReachSeries& hidden_behind) {
  AssocTlbRow row;
  row.level = level;
  row.page = "4k";
  const int tlb_level = level == "L1 DTLB" ? 1 : 2;
  // The probe's pages are base pages: 4 KiB on x86-64, 4-64 KiB on arm64.
  const double page_bytes = results.machine.base_page_bytes.value_or(4096);
  row.reported_entries = reported_entries(results, tlb_level, page_bytes);
  for (const TlbInfo& t : results.machine.tlb)
    if (t.level == tlb_level && t.page_bytes == page_bytes && t.ways != 0) row.reported_ways = t.ways;
  if (reach.size() < 2) {
    row.verdict = "not decided";
    row.evidence = reach.empty() ? "no stride showed this level's knee" : "only one stride showed this level's knee";
    return row;
  }
  const auto [first_stride, first_reach] = reach.front();
  // reach x stride is the entry count at every stride below the set count.
  // Past it (the reach stays at the ways), or at a knee a loaded machine
  // misplaced, the product is far off: the entries are the median of the
  // products within kProductAgreement of the median of the first three, and
  // the strides that agree are the ones the set count is read from.
  std::vector<double> first_products;
  for (std::size_t i = 0; i < std::min<std::size_t>(3, reach.size()); ++i)
    first_products.push_back(reach[i].first * reach[i].second);
  const double anchor = median_of(first_products);
  std::vector<double> entries;
  double last_stride = first_stride, last_reach = first_reach;
  for (const auto& [stride, pages] : reach) {
    if (stride * pages > kProductAgreement * anchor || stride * pages < anchor / kProductAgreement) continue;
    entries.push_back(stride * pages);
    last_stride = stride;
    last_reach = pages;
  }
  row.entries = median_of(entries);
  if (reach.back().second >= kFullyAssociativeShare * first_reach) {
    const double widest_reach = reach.back().second, widest_stride = reach.back().first;
    row.verdict = "fully associative";
    row.entries = first_reach;
    row.sets = 1;
    row.ways = first_reach;
    row.evidence = fmt::format("its reach does not shrink with the stride: {:.0f} pages at {:.0f} pages apart, {:.0f} "
                               "at {:.0f}",
                               first_reach, first_stride, widest_reach, widest_stride);
    return row;
  }
  // Where the reach stops shrinking (two strides within 25 %), it is the ways.
  for (std::size_t i = 1; i < reach.size(); ++i) {
    const double ratio = reach[i - 1].second / reach[i].second;
    // Neighbouring strides only (2x, or 4x with --quick): a reach seen again
    // many strides later, past strides where it was hidden, is another step.
    const bool neighbours = reach[i].first <= 4 * reach[i - 1].first;
    // The plateau starts where reach x stride still gives the entries, and
    // the reach does not grow on it.
    const double start_product = reach[i - 1].first * reach[i - 1].second;
    const bool starts_at_the_entries =
        start_product <= kProductAgreement * anchor && start_product >= anchor / kProductAgreement;
    if (neighbours && starts_at_the_entries && ratio < 1.25 && ratio > 1 / 1.1 && reach[i].second < first_reach / 2) {
      row.verdict = "set-associative";
      row.ways = reach[i].second;
      row.sets = std::exp2(std::round(std::log2(*row.entries / *row.ways)));
      row.evidence = fmt::format("its reach shrinks from {:.0f} pages at stride {:.0f} to {:.0f} at stride {:.0f} and "
                                 "stays at {:.0f} at stride {:.0f}: the ways",
                                 first_reach, first_stride, reach[i - 1].second, reach[i - 1].first, reach[i].second,
                                 reach[i].first);
      return row;
    }
  }
  row.verdict = "set-indexed";
  row.sets = last_stride;
  row.sets_lower_bound = true;
  row.evidence = fmt::format("its reach shrinks as the stride grows ({:.0f} pages at stride {:.0f}, {:.0f} at stride "
                             "{:.0f}): sets indexed by the low page-number bits, at least {:.0f} of them",
                             first_reach, first_stride, last_reach, last_stride, last_stride);
  if (!hidden_behind.empty())
    row.evidence += fmt::format("; from stride {:.0f} its reach is below the L1 DTLB's ({:.0f}), which hides it: it "
                                "has fewer ways than that",
                                hidden_behind.front().first, hidden_behind.front().second);
  return row;
}

// The ways probe (k pages 2 MiB apart in each of a few sets, the L1 DTLB
// thrashed by filler pages): per set count, the k per set of the first rise,
// or nullopt (no rise up to the largest k, kept in max_per_set).
struct WaysProbeReading {
  std::map<double, std::optional<double>> rise_per_set;
  std::map<double, double> max_per_set;
};

WaysProbeReading read_ways_probe(const Results& results) {
  std::map<double, std::vector<AssocPoint>> curves;
  for (const Case& c : results.cases) {
    if (c.family != "assoc" || param_text(c.params, "role") != "tlb_ways") continue;
    const auto sets = param_number(c, "sets_probed");
    const auto k = param_number(c, "pages_per_set");
    const auto cycles = cycles_of(c, results.machine.core_hz);
    if (sets && k && cycles) curves[*sets].push_back({*k, *cycles});
  }
  WaysProbeReading reading;
  for (const auto& [sets, points] : curves) {
    const std::vector<AssocPlateau> plateaus = assoc_plateaus(points);
    reading.rise_per_set[sets] = plateaus.size() > 1 ? std::optional<double>(plateaus[0].last_lines) : std::nullopt;
    double max_k = 0;
    for (const AssocPoint& p : points) max_k = std::max(max_k, p.lines);
    reading.max_per_set[sets] = max_k;
  }
  return reading;
}

// Reads the ways probe into the L2 DTLB row: the same k per set at every set
// count is the ways; the same total instead is a capacity the pages share
// (they do not fall in one set: a hashed or higher-bit index), said as such.
void apply_ways_probe(AssocTlbRow& row, const Results& results) {
  const WaysProbeReading reading = read_ways_probe(results);
  if (reading.rise_per_set.size() < 2) return;
  const auto& [few_sets, few_rise] = *reading.rise_per_set.begin();
  const auto& [many_sets, many_rise] = *reading.rise_per_set.rbegin();
  std::string text;
  if (few_rise && many_rise && near_ways(*few_rise, *many_rise)) {
    row.ways = *many_rise;
    if (row.entries) row.sets = std::exp2(std::round(std::log2(*row.entries / *row.ways)));
    row.sets_lower_bound = false;
    row.verdict = "set-associative";
    text = fmt::format("k pages 2 MiB apart in each of {:.0f} and of {:.0f} sets (filler pages keeping the L1 DTLB "
                       "missing) start to walk past {:.0f} per set in both: the ways",
                       few_sets, many_sets, *many_rise);
  } else if (few_rise && many_rise &&
             std::fabs(few_sets * *few_rise - many_sets * *many_rise) <= 0.15 * many_sets * *many_rise) {
    text = fmt::format("k pages 2 MiB apart in each of {:.0f} and of {:.0f} sets start to walk at the same total "
                       "({:.0f} and {:.0f} pages), not at the same k per set: a capacity those pages share, not a "
                       "set's ways (pages 2 MiB apart do not fall in one set here), so the ways are not visible",
                       few_sets, many_sets, few_sets * *few_rise, many_sets * *many_rise);
  } else if (!few_rise && !many_rise) {
    text = fmt::format("up to {:.0f} pages 2 MiB apart per set never walked: no set filled (ways not visible)",
                       reading.max_per_set.at(many_sets));
  } else {
    text = fmt::format("k pages 2 MiB apart per set rose at {} per set with {:.0f} sets and at {} with {:.0f}: "
                       "neither one set's ways nor one shared capacity (ways not visible)",
                       few_rise ? fmt::format("{:.0f}", *few_rise) : std::string("no k"), few_sets,
                       many_rise ? fmt::format("{:.0f}", *many_rise) : std::string("no k"), many_sets);
  }
  row.evidence += (row.evidence.empty() ? "" : "; ") + text;
}

std::string ways_text(const AssocCacheRow& row) {
  if (!row.ways) return row.verdict.empty() ? std::string(kMissing) : row.verdict;
  if (row.verdict == "at most") return fmt::format("at most {:.0f}-way", *row.ways);
  return fmt::format("{:.0f}-way", *row.ways);
}

std::string cache_summary_text(const AssocCacheRow& row) {
  std::string text = fmt::format("{} {}", row.level, ways_text(row));
  if (row.ways_gradual_to) text += fmt::format(" (gradual step: up to {:.0f})", *row.ways_gradual_to);
  if (row.sets && row.verdict == "measured") text += fmt::format(" x {:.0f} sets", *row.sets);
  if (row.reported_ways) text += fmt::format(" (hwloc {:.0f})", *row.reported_ways);
  return text;
}

std::string tlb_summary_text(const AssocTlbRow& row) {
  std::string text = row.level + " 4k: ";
  if (row.verdict == "fully associative") text += fmt::format("fully associative, {:.0f} entries", *row.entries);
  else if (row.verdict == "set-associative")
    text += fmt::format("{:.0f} entries, {:.0f}-way x {:.0f} sets", *row.entries, *row.ways, *row.sets);
  else if (row.verdict == "set-indexed")
    text += fmt::format("{:.0f} entries, set-indexed, >= {:.0f} sets", *row.entries, *row.sets);
  else text += row.verdict;
  if (row.reported_entries) {
    const std::string ways = !row.reported_ways ? ""
                             : *row.reported_ways < 0 ? ", fully associative"
                                                      : fmt::format(", {:.0f}-way", *row.reported_ways);
    text += fmt::format(" (CPUID {:.0f}{})", *row.reported_entries, ways);
  }
  return text;
}

std::vector<SummaryLine> assoc_summary(const Results& results) {
  std::string text;
  for (const AssocCacheRow& row : assoc_cache_rows(results))
    text += (text.empty() ? "" : " | ") + cache_summary_text(row);
  for (const AssocTlbRow& row : assoc_tlb_rows(results)) text += (text.empty() ? "" : " | ") + tlb_summary_text(row);
  if (text.empty()) return {};
  return {{21, "associativity", text}};
}

std::optional<double> measured_ways(const Results& results, const std::string& level) {
  for (const AssocCacheRow& row : assoc_cache_rows(results))
    if (row.level == level && row.verdict == "measured") return row.ways;
  return std::nullopt;
}

}  // namespace

std::vector<AssocPlateau> assoc_plateaus(std::vector<AssocPoint> points) {
  std::sort(points.begin(), points.end(), [](const AssocPoint& a, const AssocPoint& b) { return a.lines < b.lines; });
  std::vector<AssocPlateau> plateaus;
  std::vector<double> members;
  const auto close = [&] {
    if (!plateaus.empty()) plateaus.back().ns = median_of(members);
  };
  for (std::size_t i = 0; i < points.size(); ++i) {
    const AssocPoint& p = points[i];
    if (!(p.ns > 0)) continue;
    bool rises = false;
    if (!plateaus.empty()) {
      const double level = median_of(members);
      const bool last = i + 1 == points.size();
      rises = last ? p.ns > kAssocLoneStepRatio * level
                   : p.ns > kAssocStepRatio * level && points[i + 1].ns > kAssocStepRatio * level;
    }
    if (plateaus.empty() || rises) {
      close();
      plateaus.push_back({p.lines, p.lines, p.ns});
      members.clear();
    }
    members.push_back(p.ns);
    plateaus.back().last_lines = p.lines;
  }
  close();
  return plateaus;
}

std::vector<AssocCacheRow> derive_assoc_cache_rows(const Results& results) {
  // Per level, stride and k: the cost at the least disturbed set line.
  std::map<std::string, std::map<double, std::map<double, double>>> best;
  std::map<std::string, std::string> pages;
  std::map<std::string, double> line_bytes;
  std::map<std::string, std::optional<double>> reported_ways;
  // Per level and stride: "yes" when every case read its lines' physical
  // addresses in one set, "no" when some did not, absent when none could.
  std::map<std::string, std::map<double, std::string>> physical;
  for (const Case& c : results.cases) {
    if (c.family != "assoc" || param_text(c.params, "role") != "cache") continue;
    const auto stride = param_number(c, "stride_bytes");
    const auto lines = param_number(c, "lines");
    const auto ns = metric(c, "ns_per_load");
    if (!stride || !lines || !ns) continue;
    const std::string level = param_text(c.params, "level");
    const std::string one_set = param_text(c.params, "physical_one_set");
    if (!one_set.empty()) {
      std::string& seen = physical[level][*stride];
      if (seen != "no") seen = one_set;
    }
    double& cost = best[level][*stride].try_emplace(*lines, *ns).first->second;
    cost = std::min(cost, *ns);
    pages[level] = c.backing.verified.empty() ? c.backing.requested : c.backing.verified;
    line_bytes[level] = param_number(c, "line_bytes").value_or(0);
    const auto ways = param_number(c, "reported_ways");
    reported_ways[level] = ways && *ways > 0 ? ways : std::nullopt;
  }
  std::map<std::string, std::map<double, std::vector<AssocPoint>>> curves;
  for (const auto& [level, by_stride] : best)
    for (const auto& [stride, by_lines] : by_stride)
      for (const auto& [lines, ns] : by_lines) curves[level][stride].push_back({lines, ns});
  const std::map<std::string, double> latency = level_latencies(results, curves);
  std::vector<AssocCacheRow> rows;
  for (const auto& [level, by_stride] : curves)
    rows.push_back(cache_row(results, level, by_stride, latency, pages[level], line_bytes[level], reported_ways[level],
                             physical[level]));
  // A level the run could not probe at any stride ("L3: at 16 MiB stride 36
  // lines need ..."): a row that says so, never a number.
  for (const UnavailableFigure& u : results.unavailable) {
    if (u.what != "assoc/cache") continue;
    const std::string level = u.reason.substr(0, u.reason.find(':'));
    if (level.empty() || level.size() == u.reason.size() || curves.count(level)) continue;
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const AssocCacheRow& r) { return r.level == level; });
    if (row != rows.end()) {
      row->evidence += "; " + u.reason.substr(level.size() + 2);
      continue;
    }
    AssocCacheRow r;
    r.level = level;
    r.verdict = "not visible";
    r.evidence = "not probed: " + u.reason.substr(level.size() + 2);
    for (const CacheInfo& c : caches_by_level(results.machine.caches))
      if ("L" + std::to_string(c.level) == level && c.kind != "instruction") {
        r.reported_bytes = c.size_bytes;
        if (c.ways > 0) r.reported_ways = c.ways;
      }
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](const AssocCacheRow& a, const AssocCacheRow& b) { return a.level < b.level; });
  return rows;
}

std::vector<AssocTlbStrideRow> derive_assoc_tlb_strides(const Results& results) {
  std::set<double> strides;
  for (const Case& c : results.cases)
    if (c.family == "assoc" && param_text(c.params, "role") == "tlb")
      if (const auto s = param_number(c, "stride_pages")) strides.insert(*s);
  std::vector<AssocTlbStrideRow> rows;
  for (const double stride : strides) {
    const std::vector<TlbPoint> curve = page_spread_curve(
        results, "assoc", [stride](const Case& c) { return param_number(c, "stride_pages") == stride; });
    const std::vector<TlbLevelStep> levels = tlb_levels(curve);
    AssocTlbStrideRow row{stride, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (!levels.empty()) {
      row.l1_reach_pages = levels[0].knee_pages;
      row.first_rise_cycles = levels[0].height_cycles();
    }
    if (levels.size() > 1) {
      row.l2_reach_pages = levels[1].knee_pages;
      row.second_rise_cycles = levels[1].height_cycles();
    }
    rows.push_back(row);
  }
  return rows;
}

std::vector<AssocTlbRow> derive_assoc_tlb_rows(const std::vector<AssocTlbStrideRow>& strides, const Results& results) {
  if (strides.empty()) return {};
  ReachSeries l1, l2, hidden;
  // The L1 miss's cost where the L2 DTLB catches it: the first rise at the
  // smallest stride that shows a second one.
  std::optional<double> l2_hit_cycles;
  for (const AssocTlbStrideRow& s : strides)
    if (s.l2_reach_pages && s.first_rise_cycles && !l2_hit_cycles) l2_hit_cycles = s.first_rise_cycles;
  bool l2_gap = false;  // a stride without the second level ends its series
  for (const AssocTlbStrideRow& s : strides) {
    if (s.l1_reach_pages) l1.push_back({s.stride_pages, *s.l1_reach_pages});
    // A second rise again past strides where the L2 was hidden is a walk
    // step (page-table lines leaving a cache), not the L2's reach.
    if (s.l2_reach_pages && !l2_gap) l2.push_back({s.stride_pages, *s.l2_reach_pages});
    l2_gap |= !l2.empty() && !s.l2_reach_pages;
    // One rise that costs twice an L2 DTLB hit: the L1 miss walks, the L2
    // holds fewer of these pages than the L1.
    if (!s.l2_reach_pages && s.l1_reach_pages && s.first_rise_cycles && l2_hit_cycles && *s.first_rise_cycles > 2 * *l2_hit_cycles)
      hidden.push_back({s.stride_pages, *s.l1_reach_pages});
  }
  std::vector<AssocTlbRow> rows = {tlb_level_row("L1 DTLB", l1, results, {}),
                                    tlb_level_row("L2 DTLB", l2, results, hidden)};
  apply_ways_probe(rows[1], results);
  return rows;
}

void derive_assoc(Results& results) {
  store_rows(results, "assoc", derive_assoc_cache_rows(results), to_json);
  const std::vector<AssocTlbStrideRow> strides = derive_assoc_tlb_strides(results);
  store_rows(results, "assoc_tlb_strides", strides, to_json);
  store_rows(results, "assoc_tlb", derive_assoc_tlb_rows(strides, results), to_json);
}

std::vector<AssocCacheRow> assoc_cache_rows(const Results& results) {
  return load_rows(results, "assoc", cache_row_from_json);
}
std::vector<AssocTlbRow> assoc_tlb_rows(const Results& results) {
  return load_rows(results, "assoc_tlb", tlb_row_from_json);
}
std::vector<AssocTlbStrideRow> assoc_tlb_stride_rows(const Results& results) {
  return load_rows(results, "assoc_tlb_strides", stride_row_from_json);
}

std::string render_assoc_tables(const Results& results, TableFormat format) {
  const std::vector<AssocCacheRow> caches = assoc_cache_rows(results);
  const std::vector<AssocTlbStrideRow> strides = assoc_tlb_stride_rows(results);
  const std::vector<AssocTlbRow> tlbs = assoc_tlb_rows(results);
  // A level no stride could probe is a row of the table already.
  std::vector<std::string> unavailable;
  for (const std::string& u : unavailable_of(results, "assoc"))
    if (u.rfind("assoc/cache: ", 0) != 0) unavailable.push_back(u);
  if (caches.empty() && strides.empty() && unavailable.empty()) return "";
  std::string out;
  if (!caches.empty()) {
    out += note_line("Associativity: k lines one way stride apart (one set of the level) in a random cycle; the ways "
                     "are the largest k still at the level's hit latency",
                     format);
    std::vector<std::vector<std::string>> rows;
    for (const AssocCacheRow& r : caches)
      rows.push_back({r.level, r.reported_ways ? fmt::format("{:.0f}-way", *r.reported_ways) : std::string(kMissing),
                      ways_text(r),
                      r.way_stride_bytes ? (r.way_stride_upper_bound ? "<= " : "") + format_bytes(*r.way_stride_bytes)
                                         : std::string(kMissing),
                      opt_number(r.sets), r.pages.empty() ? std::string(kMissing) : r.pages});
    out += render_table({{"level", false}, {"reported", true}, {"measured", true}, {"way stride", true}, {"sets", true},
                         {"pages", false}},
                        rows, format);
    for (const AssocCacheRow& r : caches) {
      out += note_line(fmt::format("{}: {}.", r.level, r.evidence), format);
      if (r.reported_ways && r.verdict == "measured" && r.ways && !near_ways(*r.ways, *r.reported_ways))
        out += note_line(fmt::format("{}: measured {:.0f} ways, hwloc reports {:.0f}.", r.level, *r.ways,
                                     *r.reported_ways),
                         format);
      if (r.verdict == "measured" && r.way_stride_bytes && r.ways)
        out += note_line(fmt::format("{}: any power-of-two stride of {} or more puts every line in one set, where only "
                                     "{:.0f} fit: pad such rows by a line.",
                                     r.level, format_bytes(*r.way_stride_bytes), *r.ways),
                         format);
    }
  }
  if (!strides.empty()) {
    out += note_line("DTLB reach by page stride (4k pages): k pages s pages apart, one line each, minus a "
                     "same-footprint reference; reach = the knee of each rise",
                     format);
    std::vector<std::vector<std::string>> rows;
    for (const AssocTlbStrideRow& s : strides)
      rows.push_back({fmt::format("{:.0f}", s.stride_pages), opt_number(s.l1_reach_pages),
                      opt_number(s.first_rise_cycles, "{:.1f}"), opt_number(s.l2_reach_pages),
                      opt_number(s.second_rise_cycles, "{:.1f}")});
    out += render_table({{"stride pages", true}, {"first rise at pages", true}, {"its cycles", true},
                         {"second rise at pages", true}, {"its cycles", true}},
                        rows, format);
    for (const AssocTlbRow& t : tlbs) {
      out += note_line(fmt::format("{}{}.", tlb_summary_text(t), t.evidence.empty() ? "" : ": " + t.evidence), format);
      if (t.entries && t.reported_entries &&
          std::max(*t.entries, *t.reported_entries) > kEntriesDisagreeFactor * std::min(*t.entries, *t.reported_entries))
        out += note_line(fmt::format("{}: measured {:.0f} entries, CPUID reports {:.0f}{}.", t.level, *t.entries,
                                     *t.reported_entries,
                                     results.machine.hypervisor ? " (a guest's CPUID is the hypervisor's claim)" : ""),
                         format);
    }
  }
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

FamilyDescriptor describe_assoc() {
  FamilyDescriptor f;
  f.name = "assoc";
  f.run_rank = 8;
  f.report_rank = 4;
  f.tables = {{"assoc"}, {"assoc_tlb"}, {"assoc_tlb_strides"}};
  f.headline_metrics = {"ns_per_load"};
  f.derive = derive_assoc;
  f.render = render_assoc_tables;
  f.summary = assoc_summary;
  f.plots = nullptr;
  // Not a size (whose fleet rule allows 50 %): ways are few and exact, so a
  // node whose cache partitioning (Intel CAT, AMD L3 QoS) left it half its
  // ways is an outlier by the 10 % rule.
  for (const char* level : {"L1", "L2", "L3"})
    f.fleet_columns.push_back({fmt::format("{} ways", level), "detected_entries", false,
                               [level = std::string(level)](const Results& r) { return measured_ways(r, level); }});
  return f;
}

}  // namespace memprobe::analysis
