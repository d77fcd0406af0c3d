#include "analysis/derived.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "analysis/bandwidth.h"
#include "analysis/hugepage.h"
#include "analysis/levels.h"
#include "analysis/tlb.h"

namespace memprobe::analysis {
namespace {

// Curves whose geometric-mean latencies differ by less than 3 % are a tie.
const double kCurveTieLog = std::log(1.03);

// A latency point and the case it came from (for the repetition spread).
struct CasePoint {
  CurvePoint point;
  const Case* source = nullptr;
};

std::string page_of(const Case& c) {
  auto it = c.params.find("page");
  return it != c.params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Each point's repetition spread as a fraction (-1: unknown), aligned with the points.
std::vector<double> point_spreads(const std::vector<CasePoint>& points) {
  std::vector<double> out;
  for (const CasePoint& p : points)
    out.push_back(p.source->spread.median > 0 ? spread_pct(p.source->spread) / 100 : -1);
  return out;
}

// The reported data/unified caches, one per level (hwloc's first), innermost first.
std::vector<CacheInfo> reported_data_caches(const MachineInfo& machine) {
  std::vector<CacheInfo> caches;
  for (const CacheInfo& c : machine.caches)
    if (c.kind != "instruction" && c.size_bytes > 0) caches.push_back(c);
  std::stable_sort(caches.begin(), caches.end(),
                   [](const CacheInfo& a, const CacheInfo& b) { return a.level < b.level; });
  caches.erase(std::unique(caches.begin(), caches.end(),
                           [](const CacheInfo& a, const CacheInfo& b) { return a.level == b.level; }),
               caches.end());
  return caches;
}

std::vector<CasePoint> latency_case_points(const Results& results, const std::string& page) {
  std::vector<CasePoint> out;
  for (const Case& c : results.cases) {
    if (c.family != "latency" || page_of(c) != page) continue;
    auto size = c.params.find("working_set_bytes");
    auto ns = c.metrics.find("ns_per_load");
    if (size == c.params.end() || !size->is_number() || ns == c.metrics.end()) continue;
    const double size_bytes = size->get<double>();
    // A point segment_curve cannot place (zero, negative, NaN) is left out.
    if (!(size_bytes > 0) || !(ns->second > 0) || !std::isfinite(size_bytes) || !std::isfinite(ns->second)) continue;
    out.push_back({{size_bytes, ns->second}, &c});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const CasePoint& a, const CasePoint& b) { return a.point.size_bytes < b.point.size_bytes; });
  return out;
}

// Median over the given cases of each case's (max - min) / median of its
// repetitions, in %: one preempted repetition on a shared machine should not
// make a whole plateau look noisy, a plateau of noisy points should.
std::optional<double> typical_spread_pct(const std::vector<const Case*>& cases) {
  std::vector<double> pcts;
  for (const Case* c : cases) {
    if (!(c->spread.median > 0) || c->spread.repetitions < 1) continue;
    pcts.push_back(spread_pct(c->spread));
  }
  if (pcts.empty()) return std::nullopt;
  return median_of(pcts);
}

std::string format_size(double bytes) {
  struct Unit {
    double bytes;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{1024.0 * 1024 * 1024, "GiB"}, {1024.0 * 1024, "MiB"}, {1024.0, "KiB"}};
  for (const Unit& u : kUnits)
    if (bytes >= u.bytes) return fmt::format("{:.3g} {}", bytes / u.bytes, u.name);
  return fmt::format("{:.0f} B", bytes);
}

// Match knees (ascending) to cache levels (ascending reported size): each knee
// to a level within a factor of 4 on the log2 axis, each level at most once,
// order kept; the most matches, then the least total log2 distance.
std::vector<std::optional<std::size_t>> match_knees(const std::vector<Knee>& knees,
                                                    const std::vector<double>& level_bytes) {
  constexpr double kMaxLog2Distance = 2.0;  // a factor of 4
  const std::size_t nk = knees.size(), nl = level_bytes.size();
  struct Score {
    int matches = 0;
    double distance = 0;
    bool better_than(const Score& o) const {
      return matches != o.matches ? matches > o.matches : distance < o.distance - 1e-12;
    }
  };
  // best[i][j]: knees[i..] against levels[j..].
  std::vector<std::vector<Score>> best(nk + 1, std::vector<Score>(nl + 1));
  std::vector<std::vector<int>> move(nk + 1, std::vector<int>(nl + 1, 0));  // 0 skip knee, 1 skip level, 2 match
  for (std::size_t i = nk + 1; i-- > 0;) {
    for (std::size_t j = nl + 1; j-- > 0;) {
      if (i == nk || j == nl) continue;
      Score s = best[i + 1][j];
      int m = 0;
      if (best[i][j + 1].better_than(s)) {
        s = best[i][j + 1];
        m = 1;
      }
      const double d = std::fabs(std::log2(knees[i].size_bytes / level_bytes[j]));
      if (d <= kMaxLog2Distance) {
        Score take = best[i + 1][j + 1];
        take.matches += 1;
        take.distance += d;
        if (take.better_than(s)) {
          s = take;
          m = 2;
        }
      }
      best[i][j] = s;
      move[i][j] = m;
    }
  }
  std::vector<std::optional<std::size_t>> knee_of_level(nl);
  std::size_t i = 0, j = 0;
  while (i < nk && j < nl) {
    if (move[i][j] == 2)
      knee_of_level[j++] = i++;
    else if (move[i][j] == 1)
      ++j;
    else
      ++i;
  }
  return knee_of_level;
}

void append_note(std::string& note, const std::string& text) {
  if (!note.empty()) note += "; ";
  note += text;
}

}  // namespace

std::optional<DramPlateau> latency_dram_plateau(const Results& results, const std::string& page) {
  const std::vector<CasePoint> case_points = latency_case_points(results, page);
  std::vector<CurvePoint> curve;
  for (const CasePoint& p : case_points) curve.push_back(p.point);
  if (curve.empty()) return std::nullopt;
  return find_dram_plateau(segment_curve(curve), reported_data_caches(results.machine).size(),
                           point_spreads(case_points));
}

std::vector<CurvePoint> latency_curve(const Results& results, const std::string& page) {
  std::vector<CurvePoint> out;
  for (const CasePoint& p : latency_case_points(results, page)) out.push_back(p.point);
  return out;
}

std::vector<std::string> latency_pages(const Results& results) {
  static const std::vector<std::string> kOrder = {"4k", "thp", "hugetlb-2m", "hugetlb-1g"};
  std::set<std::string> present;
  for (const Case& c : results.cases)
    if (c.family == "latency" && !page_of(c).empty()) present.insert(page_of(c));
  std::vector<std::string> out;
  for (const std::string& page : kOrder)
    if (present.erase(page)) out.push_back(page);
  out.insert(out.end(), present.begin(), present.end());
  return out;
}

bool backing_verified(const Results& results, const std::string& page) {
  bool any = false;
  for (const Case& c : results.cases) {
    if (c.family != "latency" || page_of(c) != page) continue;
    any = true;
    if (c.backing.verified != c.backing.requested || c.backing.verified.empty()) return false;
  }
  return any;
}

std::vector<std::string> verified_latency_pages(const Results& results) {
  std::vector<std::string> verified;
  for (const std::string& page : latency_pages(results))
    if (backing_verified(results, page)) verified.push_back(page);
  return verified;
}

std::string preferred_latency_page(const Results& results) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};
  if (pages.size() == 1) return pages.front();
  std::vector<std::string> candidates = verified_latency_pages(results);
  if (candidates.empty()) {
    if (std::find(pages.begin(), pages.end(), "4k") != pages.end()) return "4k";
    return pages.front();
  }
  // A curve that showed DRAM (the rule that ended the sweep) beats one whose
  // DRAM points are too noisy to form that plateau: the cache table needs it.
  std::vector<std::string> with_dram;
  for (const std::string& page : candidates)
    if (latency_dram_plateau(results, page)) with_dram.push_back(page);
  if (!with_dram.empty()) candidates = with_dram;
  // Huge pages first when curves tie: on bare metal they are TLB-clean by construction.
  static const std::vector<std::string> kTieOrder = {"hugetlb-2m", "thp", "hugetlb-1g", "4k"};
  const auto tie_rank = [](const std::string& page) {
    return std::find(kTieOrder.begin(), kTieOrder.end(), page) - kTieOrder.begin();
  };
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const std::string& a, const std::string& b) { return tie_rank(a) < tie_rank(b); });

  // Both TLB-clean methods only ever add latency when they fail (a VM host
  // backing guest huge pages with 4 KiB pages, a page group larger than the
  // TLB), so the lowest curve is the cleanest: compare geometric means over
  // the working sets every candidate measured.
  std::map<std::string, std::map<double, double>> ns_by_size;
  for (const std::string& page : candidates)
    for (const CasePoint& p : latency_case_points(results, page)) ns_by_size[page][p.point.size_bytes] = p.point.value;
  std::vector<double> common;
  for (const auto& [size, ns] : ns_by_size[candidates.front()]) {
    bool everywhere = true;
    for (const std::string& page : candidates) everywhere &= ns_by_size[page].count(size) > 0;
    if (everywhere) common.push_back(size);
  }
  const auto log_mean = [&](const std::string& page) {
    double sum = 0;
    std::size_t n = 0;
    for (const auto& [size, ns] : ns_by_size[page]) {
      if (!common.empty() && std::find(common.begin(), common.end(), size) == common.end()) continue;
      sum += std::log(ns);
      ++n;
    }
    return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::infinity();
  };
  std::string best = candidates.front();
  double best_log_mean = log_mean(best);
  for (const std::string& page : candidates) {
    const double m = log_mean(page);
    if (m < best_log_mean - kCurveTieLog) {
      best = page;
      best_log_mean = m;
    }
  }
  return best;
}

std::vector<CacheLevelRow> derive_cache_levels(const Results& results) {
  const MachineInfo& machine = results.machine;
  const std::vector<CacheInfo> caches = reported_data_caches(machine);

  std::vector<CacheLevelRow> rows;
  for (const CacheInfo& c : caches) {
    CacheLevelRow row;
    row.level = fmt::format("L{}", c.level);
    row.reported_bytes = c.size_bytes;
    rows.push_back(row);
  }
  CacheLevelRow dram;
  dram.level = "DRAM";

  const std::string page = preferred_latency_page(results);
  const std::vector<CasePoint> case_points = latency_case_points(results, page);
  if (case_points.empty()) {
    dram.note = "no latency measurements";
    rows.push_back(dram);
    return rows;
  }
  std::vector<CurvePoint> curve;
  for (const CasePoint& p : case_points) curve.push_back(p.point);
  // segment_curve sorts stably by size: its indices are case_points' indices.
  const Segmentation seg = segment_curve(curve);

  const auto with_cycles = [&](CacheLevelRow& row) {
    if (row.latency_ns && machine.core_hz > 0) row.latency_cycles = *row.latency_ns * machine.core_hz / 1e9;
  };
  const auto cases_in = [&](std::size_t first, std::size_t last) {
    std::vector<const Case*> out;
    for (std::size_t i = first; i <= last && i < case_points.size(); ++i) out.push_back(case_points[i].source);
    return out;
  };

  std::vector<double> level_bytes;
  for (const CacheInfo& c : caches) level_bytes.push_back(c.size_bytes);
  const double largest_bytes = case_points.back().point.size_bytes;
  const double largest_reported = level_bytes.empty() ? 0 : level_bytes.back();
  const std::vector<double> point_spread = point_spreads(case_points);

  // DRAM is where the curve shows it (find_dram_plateau: the rule that also
  // ended the sweep); a sweep that went past twice the reported LLC without
  // such a plateau takes its last plateau, as before that rule existed.
  const std::optional<DramPlateau> shown = find_dram_plateau(seg, level_bytes.size(), point_spread);
  const bool past_reported = !level_bytes.empty() && largest_bytes >= 2 * largest_reported;
  std::optional<std::size_t> dram_plateau;
  if (shown)
    dram_plateau = shown->plateau;
  else if (past_reported && seg.plateaus.size() >= 2)
    dram_plateau = seg.plateaus.size() - 1;
  const bool reached_dram = dram_plateau.has_value();

  // The knees that end cache levels: those below the DRAM plateau (all of
  // them when DRAM was not reached).
  const std::vector<Knee> cache_knees(
      seg.knees.begin(), seg.knees.begin() + static_cast<std::ptrdiff_t>(dram_plateau ? *dram_plateau : seg.knees.size()));
  std::vector<std::optional<std::size_t>> knee_of_level;
  if (reached_dram && cache_knees.size() == level_bytes.size()) {
    // As many cache plateaus as reported levels: they pair up in order, and
    // the step into DRAM ends the last level however far from its reported
    // size it lies (a VM's guest may see a fraction of the host's L3).
    for (std::size_t k = 0; k < cache_knees.size(); ++k) knee_of_level.push_back(k);
  } else if (reached_dram && !cache_knees.empty() && !level_bytes.empty()) {
    // More or fewer plateaus than reported levels: the step into DRAM still
    // ends the last level; the other knees go to the nearest other level
    // within a factor of 4, order kept.
    const std::vector<Knee> inner(cache_knees.begin(), cache_knees.end() - 1);
    const std::vector<double> inner_levels(level_bytes.begin(), level_bytes.end() - 1);
    knee_of_level = match_knees(inner, inner_levels);
    knee_of_level.push_back(cache_knees.size() - 1);
  } else {
    knee_of_level = match_knees(cache_knees, level_bytes);
  }
  std::vector<bool> plateau_used(seg.plateaus.size(), false);

  double previous_bytes = 0;        // reported size of the level before
  double previous_bound_bytes = 0;  // its knee if it has one, else its reported size
  for (std::size_t l = 0; l < rows.size(); ++l) {
    CacheLevelRow& row = rows[l];
    const double reported = level_bytes[l];
    if (knee_of_level[l]) {
      const Knee& knee = seg.knees[*knee_of_level[l]];
      // The level's plateau: the first one above the level before. Latency
      // often creeps up before capacity (set conflicts, replacement), and
      // that can form further plateaus under the same knee: the first is the
      // level's hit latency, the others are noted.
      std::size_t first = knee.plateau_below;
      for (std::size_t p = 0; p < knee.plateau_below; ++p) {
        if (seg.points[seg.plateaus[p].last].size_bytes > previous_bound_bytes) {
          first = p;
          break;
        }
      }
      const Plateau& plateau = seg.plateaus[first];
      plateau_used[first] = true;
      row.detected_bytes = knee.size_bytes;
      row.latency_ns = plateau.level;
      row.spread_pct = typical_spread_pct(cases_in(plateau.first, plateau.last));
      if (seg.points[plateau.last].size_bytes <= previous_bound_bytes) {
        // The only plateau under this knee belongs to the level before (which
        // faded out without a knee of its own): this level's latency is what
        // the working sets between the two see, however much it rises.
        std::vector<double> values;
        std::vector<const Case*> sources;
        for (std::size_t i = 0; i < seg.points.size(); ++i) {
          if (seg.points[i].size_bytes > previous_bound_bytes && seg.points[i].size_bytes <= knee.size_bytes) {
            values.push_back(seg.points[i].value);
            sources.push_back(case_points[i].source);
          }
        }
        if (values.empty()) {
          row.latency_ns.reset();
          row.spread_pct.reset();
          append_note(row.note, fmt::format("no points between {} and the knee", format_size(previous_bound_bytes)));
        } else {
          row.latency_ns = median_of(values);
          row.spread_pct = typical_spread_pct(sources);
          const auto [low, high] = std::minmax_element(values.begin(), values.end());
          append_note(row.note, fmt::format("no plateau of its own: median of the {} points from {} to the knee "
                                            "({:.3g} to {:.3g} ns)",
                                            values.size(), format_size(previous_bound_bytes), *low, *high));
        }
      } else if (first != knee.plateau_below) {
        append_note(
            row.note,
            fmt::format("latency rises within the level: {:.3g} ns up to {}, {:.3g} ns before the knee", plateau.level,
                        format_size(seg.points[plateau.last].size_bytes), seg.plateaus[knee.plateau_below].level));
      }
      const double ratio = std::max(knee.size_bytes, reported) / std::min(knee.size_bytes, reported);
      if (ratio > 1.5) {
        std::string note =
            fmt::format("measured knee at {} vs {} reported", format_size(knee.size_bytes), format_size(reported));
        if (machine.hypervisor)
          note +=
              fmt::format(" ({} guest: the hypervisor may hide the real {} geometry)", *machine.hypervisor, row.level);
        append_note(row.note, note);
      }
    } else {
      std::vector<double> values;
      std::vector<const Case*> sources;
      for (const CasePoint& p : case_points) {
        if (p.point.size_bytes > previous_bytes && p.point.size_bytes <= reported / 2) {
          values.push_back(p.point.value);
          sources.push_back(p.source);
        }
      }
      if (values.empty()) {
        append_note(row.note, "no clear knee and no points below reported size");
      } else {
        row.latency_ns = median_of(values);
        row.spread_pct = typical_spread_pct(sources);
        append_note(row.note, "no clear knee; latency from points below reported size");
      }
    }
    with_cycles(row);
    previous_bytes = reported;
    previous_bound_bytes = row.detected_bytes ? *row.detected_bytes : reported;
  }

  // A plateau below DRAM whose latency no level took is said on the first
  // level whose knee lies above it (else on DRAM).
  const std::size_t cache_plateaus = dram_plateau ? *dram_plateau : seg.plateaus.size();
  for (std::size_t p = 0; p < cache_plateaus; ++p) {
    if (plateau_used[p]) continue;
    std::size_t above = rows.size();
    for (std::size_t l = 0; l < rows.size(); ++l)
      if (knee_of_level[l] && *knee_of_level[l] >= p) {
        above = l;
        break;
      }
    const Plateau& plateau = seg.plateaus[p];
    append_note(above < rows.size() ? rows[above].note : dram.note,
                fmt::format("a plateau at {:.3g} ns ({} to {}) matches no reported level", plateau.level,
                            format_size(seg.points[plateau.first].size_bytes),
                            format_size(seg.points[plateau.last].size_bytes)));
  }
  if (!reached_dram) {
    if (seg.plateaus.size() < 2)
      append_note(dram.note, "no step to DRAM found in the latency curve");
    else
      append_note(dram.note, fmt::format("sweep did not reach DRAM: no plateau past the last knee spans {} octaves "
                                         "within noise (largest working set {})",
                                         DramPlateauRule{}.min_octaves, format_size(largest_bytes)));
  } else {
    const Plateau& p = seg.plateaus[*dram_plateau];
    dram.latency_ns = p.level;
    dram.spread_pct = typical_spread_pct(cases_in(p.first, p.last));
    with_cycles(dram);
    if (!shown)
      append_note(dram.note, fmt::format("last plateau taken as DRAM: the sweep reached 2x the reported {} ({})",
                                         rows.back().level, format_size(largest_reported)));
    if (*dram_plateau + 1 < seg.plateaus.size()) {
      const Plateau& last = seg.plateaus.back();
      append_note(dram.note, fmt::format("beyond {} latency rises to {:.3g} ns at {} (translation: see "
                                         "\"DRAM + translation\"), not another level",
                                         format_size(seg.points[p.last].size_bytes), last.level,
                                         format_size(seg.points[last.last].size_bytes)));
    }
  }
  rows.push_back(dram);
  return rows;
}

void derive_dram_translation(Results& results) {
  results.derived.extra.erase("dram_translation");
  auto hugepage = results.derived.extra.find("hugepage");
  if (hugepage == results.derived.extra.end() || !hugepage->is_array()) return;
  std::optional<double> dram_ns;
  for (const CacheLevelRow& row : results.derived.cache_levels)
    if (row.level == "DRAM") dram_ns = row.latency_ns;
  // The largest DRAM-region working set each page policy measured.
  std::map<std::string, const nlohmann::json*> largest;
  for (const nlohmann::json& row : *hugepage) {
    if (!row.is_object() || row.value("region", "") != "dram") continue;
    const auto ws = row.find("working_set_bytes");
    const auto ns = row.find("ns_per_load");
    const auto page = row.find("page");
    if (ws == row.end() || !ws->is_number() || ns == row.end() || !ns->is_number() || page == row.end() ||
        !page->is_string())
      continue;
    const nlohmann::json*& best = largest[page->get<std::string>()];
    if (!best || (*best)["working_set_bytes"].get<double>() < ws->get<double>()) best = &row;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const char* page : {"4k", "thp", "hugetlb-2m", "hugetlb-1g"}) {
    auto it = largest.find(page);
    if (it == largest.end()) continue;
    const nlohmann::json& row = *it->second;
    nlohmann::json entry = {{"page", page},
                            {"working_set_bytes", row["working_set_bytes"]},
                            {"latency_ns", row["ns_per_load"]},
                            {"backing_verified", row.value("backing_verified", false)}};
    const double ns = row["ns_per_load"].get<double>();
    if (dram_ns && *dram_ns > 0) entry["vs_dram"] = ns / *dram_ns;
    if (results.machine.core_hz > 0) entry["latency_cycles"] = ns * results.machine.core_hz / 1e9;
    out.push_back(entry);
  }
  if (!out.empty()) results.derived.extra["dram_translation"] = out;
}

void derive_all(Results& results) {
  results.derived.cache_levels = derive_cache_levels(results);
  if (!results.derived.extra.is_object()) results.derived.extra = nlohmann::json::object();
  const std::string page = preferred_latency_page(results);
  if (page.empty())
    results.derived.extra.erase("latency_curve_page");
  else
    results.derived.extra["latency_curve_page"] = page;
  derive_tlb_family(results);
  derive_hugepage(results);
  derive_dram_translation(results);
  derive_page_fault(results);
  derive_bandwidth(results);
}

}  // namespace memprobe::analysis
