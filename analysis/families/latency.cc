#include "analysis/families/latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>

#include "analysis/family.h"
#include "analysis/family_support.h"
#include "analysis/families/hugepage.h"
#include "analysis/tables.h"

namespace memprobe::analysis {
namespace {

// Cycles with one decimal (or_missing prints a non-finite value as missing).
std::string format_cycles(double cycles) { return fmt::format("{:.1f}", cycles); }



// Curves whose geometric-mean latencies differ by less than 3 % are a tie.
const double kCurveTieLog = std::log(1.03);

// A latency point and the case it came from (for the repetition spread).
struct CasePoint {
  CurvePoint point;
  const Case* source = nullptr;
};

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


// One case of the latency curve table: ns per load (with "!" when noisy
// and the backing when it is not the one asked for) and cycles per load.
struct CurveCell {
  std::string ns, cycles;
  bool noisy = false;
};
CurveCell curve_cell(const Case& c, double core_hz) {
  const double ns = c.metrics.at("ns_per_load");
  CurveCell cell;
  // Files written before spread.noisy existed: judge from min/max.
  cell.noisy = c.spread.noisy || spread_pct(c.spread) > kNoisySpreadPct;
  cell.ns = format_ns(ns) + (cell.noisy ? "!" : "");
  if (!c.backing.verified.empty() && c.backing.verified != c.backing.requested) {
    if (c.backing.requested == "4k")
      cell.ns += fmt::format(" (backing {})", c.backing.verified);
    else if (c.backing.verified == "mixed")
      cell.ns += " (partly huge)";
    else
      cell.ns += " (not huge)";
  }
  if (auto cycles = c.metrics.find("cycles_per_load"); cycles != c.metrics.end())
    cell.cycles = or_missing(cycles->second, format_cycles);
  else if (core_hz > 0)
    cell.cycles = or_missing(ns * core_hz / 1e9, format_cycles);
  else
    cell.cycles = kMissing;
  return cell;
}

// "latency from the hugetlb-2m curve: the lowest of the verified curves (...)".
std::string curve_choice_note(const Results& results, const std::string& page) {
  const std::vector<std::string> verified = verified_latency_pages(results);
  std::string why;
  if (verified.size() > 1) {
    std::string names;
    for (const std::string& v : verified) names += (names.empty() ? "" : ", ") + v;
    why = fmt::format(": the lowest of the verified curves ({}); translation misses only add latency", names);
  } else if (page != "4k" && backing_verified(results, page)) {
    why = " (backing verified)";
  }
  return fmt::format("latency from the {} curve{}", page, why);
}

// "latency: L1 48 KiB 5.0 cycles (1.2 ns) | ...": the cache levels measured.
std::vector<SummaryLine> latency_summary(const Results& results) {
  std::string caches;
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (!row.latency_ns) continue;
    std::string text = row.level;
    if (row.detected_bytes) text += " " + format_bytes(*row.detected_bytes);
    text += row.latency_cycles ? fmt::format(" {:.1f} cycles", *row.latency_cycles) : "";
    text += fmt::format(" ({} ns)", format_ns(*row.latency_ns));
    caches += (caches.empty() ? "" : " | ") + text;
  }
  if (caches.empty()) return {};
  return {{0, "latency", caches}};  // the summary's first line
}

// The cache table, the curve per page policy and the counters per level.
std::string render_latency_sections(const Results& results, TableFormat format) {
  std::string out;
  for (const std::string& text : {render_cache_table(results, format), render_latency_curve(results, format),
                                  render_counter_table(results, format)}) {
    if (text.empty()) continue;
    if (!out.empty()) out += "\n";
    out += text;
  }
  return out;
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

std::optional<DramPlateau> latency_dram_plateau_located(const Results& results, const std::string& page,
                                                        const DramPlateau& shown_elsewhere) {
  const std::vector<CasePoint> case_points = latency_case_points(results, page);
  std::vector<CurvePoint> curve;
  for (const CasePoint& p : case_points) curve.push_back(p.point);
  if (curve.empty()) return std::nullopt;
  DramPlateauRule located;
  located.min_octaves = kLocatedDramMinOctaves;
  auto plateau = find_dram_plateau(segment_curve(curve), reported_data_caches(results.machine).size(),
                                   point_spreads(case_points), located);
  if (!plateau || plateau->first_bytes > 2 * shown_elsewhere.first_bytes) return std::nullopt;
  return plateau;
}

std::optional<TableDram> table_dram_plateau(const Results& results, const std::string& page) {
  if (auto shown = latency_dram_plateau(results, page)) return TableDram{*shown, ""};
  for (const std::string& other : verified_latency_pages(results)) {
    if (other == page) continue;
    const auto shown_there = latency_dram_plateau(results, other);
    if (!shown_there) continue;
    if (auto located = latency_dram_plateau_located(results, page, *shown_there))
      return TableDram{*located,
                       fmt::format("DRAM plateau located by the {} curve, which showed DRAM from {}: this curve's "
                                   "plateau from {} spans {:.1f} octaves to the sweep's end (its own rule needs {:.0f})",
                                   other, format_size(shown_there->first_bytes), format_size(located->first_bytes),
                                   std::log2(located->last_bytes / located->first_bytes),
                                   DramPlateauRule{}.min_octaves)};
  }
  return std::nullopt;
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
  // A curve with a DRAM plateau (its own, or located by another curve)
  // beats one whose DRAM points are too noisy to form that plateau: the
  // cache table needs it.
  std::vector<std::string> with_dram;
  for (const std::string& page : candidates)
    if (table_dram_plateau(results, page)) with_dram.push_back(page);
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

namespace {

// The latency curve the cache levels are read from: its points with their
// cases, the segmentation, the reported levels, where DRAM starts and which
// knee ends which level.
struct LevelCurve {
  std::vector<CasePoint> case_points;
  std::vector<CurvePoint> curve;             // case_points' points
  Segmentation seg;                          // of curve: segment_curve sorts stably, so indices agree
  std::vector<double> level_bytes;           // reported sizes, innermost first
  std::optional<DramPlateau> shown;          // DRAM as find_dram_plateau sees it (or located by another curve)
  std::string located_note;                  // how another curve located it; empty: this curve showed it
  std::optional<std::size_t> dram_plateau;   // the plateau taken as DRAM
  std::vector<std::optional<std::size_t>> knee_of_level;
  std::vector<bool> plateau_used;

  double largest_bytes() const { return curve.back().size_bytes; }
  double largest_reported() const { return level_bytes.empty() ? 0 : level_bytes.back(); }

  std::vector<const Case*> cases_in(std::size_t first, std::size_t last) const {
    std::vector<const Case*> out;
    for (std::size_t i = first; i <= last && i < case_points.size(); ++i) out.push_back(case_points[i].source);
    return out;
  }
};

// DRAM is where the curve shows it (table_dram_plateau: the rule that also
// ended the sweep, or located by another curve); a sweep that went past
// twice the reported LLC without such a plateau takes its last plateau, as
// before that rule existed.
void find_dram(LevelCurve& c, const std::optional<TableDram>& dram) {
  if (dram) {
    c.shown = dram->plateau;
    c.located_note = dram->located_by;
  }
  const bool past_reported = !c.level_bytes.empty() && c.largest_bytes() >= 2 * c.largest_reported();
  if (c.shown)
    c.dram_plateau = c.shown->plateau;
  else if (past_reported && c.seg.plateaus.size() >= 2)
    c.dram_plateau = c.seg.plateaus.size() - 1;
}

// Which knee ends which reported level. The knees that end cache levels are
// those below the DRAM plateau (all of them when DRAM was not reached).
void match_levels(LevelCurve& c) {
  const std::vector<Knee>& knees = c.seg.knees;
  const std::vector<Knee> cache_knees(
      knees.begin(), knees.begin() + static_cast<std::ptrdiff_t>(c.dram_plateau ? *c.dram_plateau : knees.size()));
  const bool reached_dram = c.dram_plateau.has_value();
  if (reached_dram && cache_knees.size() == c.level_bytes.size()) {
    // As many cache plateaus as reported levels: they pair up in order, and
    // the step into DRAM ends the last level however far from its reported
    // size it lies (a VM's guest may see a fraction of the host's L3).
    for (std::size_t k = 0; k < cache_knees.size(); ++k) c.knee_of_level.push_back(k);
  } else if (reached_dram && !cache_knees.empty() && !c.level_bytes.empty()) {
    // More or fewer plateaus than reported levels: the step into DRAM still
    // ends the last level; the other knees go to the nearest other level
    // within a factor of 4, order kept.
    const std::vector<Knee> inner(cache_knees.begin(), cache_knees.end() - 1);
    const std::vector<double> inner_levels(c.level_bytes.begin(), c.level_bytes.end() - 1);
    c.knee_of_level = match_knees(inner, inner_levels);
    c.knee_of_level.push_back(cache_knees.size() - 1);
  } else {
    c.knee_of_level = match_knees(cache_knees, c.level_bytes);
  }
  c.plateau_used.assign(c.seg.plateaus.size(), false);
}

LevelCurve level_curve(std::vector<CasePoint> case_points, const std::vector<CacheInfo>& caches,
                       const std::optional<TableDram>& dram) {
  LevelCurve c;
  c.case_points = std::move(case_points);
  for (const CasePoint& p : c.case_points) c.curve.push_back(p.point);
  c.seg = segment_curve(c.curve);
  for (const CacheInfo& cache : caches) c.level_bytes.push_back(cache.size_bytes);
  find_dram(c, dram);
  match_levels(c);
  return c;
}

void with_cycles(CacheLevelRow& row, const MachineInfo& machine) {
  if (row.latency_ns && machine.core_hz > 0) row.latency_cycles = *row.latency_ns * machine.core_hz / 1e9;
}

// The working set of the point among `points` whose value is nearest
// `figure` (the smaller on a tie): a level's figure is a median of points, so
// this is where re-measuring it reads the same thing.
double figure_point_bytes(std::span<const CurvePoint> points, double figure) {
  const CurvePoint* best = &points.front();
  for (const CurvePoint& p : points)
    if (std::abs(p.value - figure) < std::abs(best->value - figure)) best = &p;
  return best->size_bytes;
}
double figure_point_bytes(const Segmentation& seg, const Plateau& plateau) {
  return figure_point_bytes(std::span(seg.points).subspan(plateau.first, plateau.last - plateau.first + 1),
                            plateau.level);
}

// The points of `points` with sizes in (low, high], and their cases.
struct PointsIn {
  std::vector<CurvePoint> points;
  std::vector<double> values;
  std::vector<const Case*> sources;
};
PointsIn points_between(const std::vector<CurvePoint>& points, const LevelCurve& c, double low, double high) {
  PointsIn in;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].size_bytes > low && points[i].size_bytes <= high) {
      in.points.push_back(points[i]);
      in.values.push_back(points[i].value);
      in.sources.push_back(c.case_points[i].source);
    }
  }
  return in;
}

// The only plateau under this level's knee belongs to the level before
// (which faded out without a knee of its own): this level's latency is what
// the working sets between the two see, however much it rises.
void latency_between(const LevelCurve& c, CacheLevelRow& row, double previous_bound_bytes, double knee_bytes) {
  const PointsIn in = points_between(c.seg.points, c, previous_bound_bytes, knee_bytes);
  if (in.values.empty()) {
    row.latency_ns.reset();
    row.spread_pct.reset();
    row.figure_bytes.reset();
    append_note(row.note, fmt::format("no points between {} and the knee", format_size(previous_bound_bytes)));
    return;
  }
  row.latency_ns = median_of(in.values);
  row.figure_bytes = figure_point_bytes(in.points, *row.latency_ns);
  row.spread_pct = typical_spread_pct(in.sources);
  const auto [low, high] = std::minmax_element(in.values.begin(), in.values.end());
  append_note(row.note, fmt::format("no plateau of its own: median of the {} points from {} to the knee "
                                    "({:.3g} to {:.3g} ns)",
                                    in.values.size(), format_size(previous_bound_bytes), *low, *high));
}

// A level with a knee: detected size = the knee; latency = its plateau, the
// first one above the level before. Latency often creeps up before capacity
// (set conflicts, replacement), and that can form further plateaus under
// the same knee: the first is the level's hit latency, the others are noted.
void level_from_knee(LevelCurve& c, CacheLevelRow& row, const Knee& knee, double reported,
                     double previous_bound_bytes, const MachineInfo& machine) {
  const Segmentation& seg = c.seg;
  std::size_t first = knee.plateau_below;
  for (std::size_t p = 0; p < knee.plateau_below; ++p) {
    if (seg.points[seg.plateaus[p].last].size_bytes > previous_bound_bytes) {
      first = p;
      break;
    }
  }
  const Plateau& plateau = seg.plateaus[first];
  c.plateau_used[first] = true;
  row.detected_bytes = knee.size_bytes;
  row.latency_ns = plateau.level;
  row.figure_bytes = figure_point_bytes(seg, plateau);
  row.spread_pct = typical_spread_pct(c.cases_in(plateau.first, plateau.last));
  if (seg.points[plateau.last].size_bytes <= previous_bound_bytes) {
    latency_between(c, row, previous_bound_bytes, knee.size_bytes);
  } else if (first != knee.plateau_below) {
    append_note(row.note, fmt::format("latency rises within the level: {:.3g} ns up to {}, {:.3g} ns before the knee",
                                      plateau.level, format_size(seg.points[plateau.last].size_bytes),
                                      seg.plateaus[knee.plateau_below].level));
  }
  const double ratio = std::max(knee.size_bytes, reported) / std::min(knee.size_bytes, reported);
  if (ratio > 1.5) {
    std::string note =
        fmt::format("measured knee at {} vs {} reported", format_size(knee.size_bytes), format_size(reported));
    if (machine.hypervisor)
      note += fmt::format(" ({} guest: the hypervisor may hide the real {} geometry)", *machine.hypervisor, row.level);
    append_note(row.note, note);
  }
}

// A level without a knee: latency = median of the points in (previous
// reported size, reported size / 2].
void level_without_knee(LevelCurve& c, CacheLevelRow& row, double previous_bytes, double reported) {
  const PointsIn in = points_between(c.curve, c, previous_bytes, reported / 2);
  if (in.values.empty()) {
    append_note(row.note, "no clear knee and no points below reported size");
    return;
  }
  // A plateau with points among those is this level's (a sweep capped at or
  // inside the level, say): no other row may call it unreported.
  for (std::size_t p = 0; p < c.seg.plateaus.size(); ++p) {
    const Plateau& plateau = c.seg.plateaus[p];
    if (c.seg.points[plateau.last].size_bytes > previous_bytes &&
        c.seg.points[plateau.first].size_bytes <= reported / 2)
      c.plateau_used[p] = true;
  }
  row.latency_ns = median_of(in.values);
  row.figure_bytes = figure_point_bytes(in.points, *row.latency_ns);
  row.spread_pct = typical_spread_pct(in.sources);
  append_note(row.note, "no clear knee; latency from points below reported size");
}

// A plateau below DRAM whose latency no level took is said on the first
// level whose knee lies above it (else on DRAM).
void note_unused_plateaus(const LevelCurve& c, std::vector<CacheLevelRow>& rows, CacheLevelRow& dram) {
  const std::size_t cache_plateaus = c.dram_plateau ? *c.dram_plateau : c.seg.plateaus.size();
  for (std::size_t p = 0; p < cache_plateaus; ++p) {
    if (c.plateau_used[p]) continue;
    std::size_t above = rows.size();
    for (std::size_t l = 0; l < rows.size(); ++l)
      if (c.knee_of_level[l] && *c.knee_of_level[l] >= p) {
        above = l;
        break;
      }
    const Plateau& plateau = c.seg.plateaus[p];
    append_note(above < rows.size() ? rows[above].note : dram.note,
                fmt::format("a plateau at {:.3g} ns ({} to {}) matches no reported level", plateau.level,
                            format_size(c.seg.points[plateau.first].size_bytes),
                            format_size(c.seg.points[plateau.last].size_bytes)));
  }
}

// DRAM = the DRAM plateau, or a note why there is none.
void dram_row(const LevelCurve& c, const std::vector<CacheLevelRow>& rows, CacheLevelRow& dram,
              const MachineInfo& machine) {
  const Segmentation& seg = c.seg;
  if (!c.dram_plateau) {
    if (seg.plateaus.size() < 2)
      append_note(dram.note, "no step to DRAM found in the latency curve");
    else
      append_note(dram.note, fmt::format("sweep did not reach DRAM: no plateau past the last knee spans {} octaves "
                                         "within noise (largest working set {})",
                                         DramPlateauRule{}.min_octaves, format_size(c.largest_bytes())));
    return;
  }
  const Plateau& p = seg.plateaus[*c.dram_plateau];
  dram.latency_ns = p.level;
  dram.figure_bytes = figure_point_bytes(seg, p);
  dram.spread_pct = typical_spread_pct(c.cases_in(p.first, p.last));
  with_cycles(dram, machine);
  if (!c.located_note.empty()) append_note(dram.note, c.located_note);
  if (!c.shown)
    append_note(dram.note, fmt::format("last plateau taken as DRAM: the sweep reached 2x the reported {} ({})",
                                       rows.back().level, format_size(c.largest_reported())));
  if (*c.dram_plateau + 1 < seg.plateaus.size()) {
    const Plateau& last = seg.plateaus.back();
    append_note(dram.note, fmt::format("beyond {} latency rises to {:.3g} ns at {} (translation: see "
                                       "\"DRAM + translation\"), not another level",
                                       format_size(seg.points[p.last].size_bytes), last.level,
                                       format_size(seg.points[last.last].size_bytes)));
  }
}

}  // namespace

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
  std::vector<CasePoint> case_points = latency_case_points(results, page);
  if (case_points.empty()) {
    dram.note = "no latency measurements";
    rows.push_back(dram);
    return rows;
  }
  LevelCurve curve = level_curve(std::move(case_points), caches, table_dram_plateau(results, page));
  double previous_bytes = 0;        // reported size of the level before
  double previous_bound_bytes = 0;  // its knee if it has one, else its reported size
  for (std::size_t l = 0; l < rows.size(); ++l) {
    CacheLevelRow& row = rows[l];
    const double reported = curve.level_bytes[l];
    if (curve.knee_of_level[l])
      level_from_knee(curve, row, curve.seg.knees[*curve.knee_of_level[l]], reported, previous_bound_bytes, machine);
    else
      level_without_knee(curve, row, previous_bytes, reported);
    with_cycles(row, machine);
    previous_bytes = reported;
    previous_bound_bytes = row.detected_bytes ? *row.detected_bytes : reported;
  }
  note_unused_plateaus(curve, rows, dram);
  dram_row(curve, rows, dram, machine);
  rows.push_back(dram);
  return rows;
}

void derive_latency(Results& results) {
  // Without a latency case nothing was measured: no rows, not rows holding
  // only the sizes the system reports (FamilyDescriptor::derive's contract).
  const bool measured = std::any_of(results.cases.begin(), results.cases.end(),
                                    [](const Case& c) { return c.family == "latency"; });
  results.derived.cache_levels = measured ? derive_cache_levels(results) : std::vector<CacheLevelRow>{};
  if (!results.derived.extra.is_object()) results.derived.extra = nlohmann::json::object();
  const std::string page = preferred_latency_page(results);
  if (page.empty())
    results.derived.extra.erase("latency_curve_page");
  else
    results.derived.extra["latency_curve_page"] = page;
}

namespace {

// The curve the cache levels were derived from (derived.latency_curve_page);
// files written before it was stored: the curve derive_latency would choose.
std::string derived_curve_page(const Results& results) {
  if (auto it = results.derived.extra.find("latency_curve_page"); it != results.derived.extra.end() && it->is_string())
    return it->get<std::string>();
  return preferred_latency_page(results);
}

}  // namespace

std::string render_counter_table(const Results& results, TableFormat format) {
  const auto statuses = results.extra.find("counters");
  if (statuses == results.extra.end() || !statuses->is_array() || statuses->empty()) return {};
  const std::string page = derived_curve_page(results);
  const std::vector<CurvePoint> curve = latency_curve(results, page);
  if (curve.empty()) return {};

  // One representative working set per level: the geometric middle between
  // the previous level's reported size and this one's; DRAM: the largest.
  const std::vector<CacheLevelRow>& levels = results.derived.cache_levels;
  std::vector<Column> columns{{"counter per load", false}};
  std::vector<double> sizes;
  double previous_bytes = curve.front().size_bytes;
  for (const CacheLevelRow& level : levels) {
    const double target =
        level.reported_bytes ? std::sqrt(previous_bytes * *level.reported_bytes) : curve.back().size_bytes;
    if (level.reported_bytes) previous_bytes = *level.reported_bytes;
    double best = curve.front().size_bytes;
    for (const CurvePoint& p : curve)
      if (std::abs(std::log(p.size_bytes / target)) < std::abs(std::log(best / target))) best = p.size_bytes;
    sizes.push_back(best);
    columns.push_back({fmt::format("{} ({})", level.level, format_bytes(best)), true});
  }

  std::vector<std::vector<std::string>> rows;
  for (const auto& status : *statuses) {
    const std::string column = status.value("column", status.value("event", std::string()));
    std::vector<std::string> row{column};
    const bool available = status.value("available", false);
    for (double size : sizes) {
      if (!available) {
        row.push_back(results.machine.pmu_available || status.value("software", false) ? "n/a" : "n/a (no PMU)");
        continue;
      }
      std::string cell = kMissing;
      for (const Case& c : results.cases) {
        if (c.family != "latency" || json_string(c.params, "page") != page) continue;
        if (json_number(c.params, "working_set_bytes") != size) continue;
        if (auto v = c.counters.find(column + "_per_access"); v != c.counters.end())
          cell = fmt::format("{:.3g}", v->second);
      }
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  return note_line(fmt::format("performance counters per load ({} curve)", page), format) +
         render_table(columns, rows, format);
}

std::string render_cache_table(const Results& results, TableFormat format) {
  // Only what derive_latency stored: a results value is derived once
  // (derive_all: `memprobe run`, and `memprobe report` right after loading).
  const std::vector<CacheLevelRow>& rows = results.derived.cache_levels;
  // A table whose family was not run is left out: without a latency curve
  // (`--only hugepage`) every row would be the reported size and dashes.
  if (std::none_of(rows.begin(), rows.end(),
                   [](const CacheLevelRow& row) { return row.latency_ns || row.detected_bytes; }))
    return {};
  // The curve the rows were derived from (derived.latency_curve_page).
  const std::string page = json_string(results.derived.extra, "latency_curve_page");

  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> notes;
  bool noisy = false;
  for (const CacheLevelRow& row : rows) {
    noisy |= row.spread_pct && *row.spread_pct > kNoisySpreadPct;
    cells.push_back({row.level, or_missing(row.reported_bytes, format_bytes),
                     or_missing(row.detected_bytes, format_bytes), or_missing(row.latency_ns, format_ns),
                     or_missing(row.latency_cycles, format_cycles), format_spread(row.spread_pct)});
    if (!row.note.empty()) notes.push_back(fmt::format("{}: {}", row.level, row.note));
  }

  std::string out = render_table({{"level", false},
                                  {"reported", true},
                                  {"detected", true},
                                  {"latency ns", true},
                                  {"latency cycles", true},
                                  {"spread", true}},
                                 cells, format);
  if (!page.empty()) out += note_line(curve_choice_note(results, page), format);
  if (const std::string translation = dram_translation_text(results); !translation.empty())
    out += note_line("DRAM + translation (random over the whole set, every page-table level in play): " + translation,
                     format);
  if (noisy)
    out += note_line(fmt::format("!: repetitions differ by more than {:.0f}% of the median; rerun on a quieter machine",
                                 kNoisySpreadPct),
                     format);
  for (const std::string& note : notes) out += note_line(note, format);
  return out;
}

std::string render_latency_curve(const Results& results, TableFormat format) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};

  std::map<double, std::map<std::string, CurveCell>> by_size;
  bool any_noisy = false;
  for (const Case& c : results.cases) {
    if (c.family != "latency") continue;
    auto page = c.params.find("page");
    auto size = c.params.find("working_set_bytes");
    if (page == c.params.end() || !page->is_string() || size == c.params.end() || !size->is_number() ||
        !c.metrics.count("ns_per_load"))
      continue;
    const CurveCell cell = curve_cell(c, results.machine.core_hz);
    any_noisy |= cell.noisy;
    by_size[size->get<double>()][page->get<std::string>()] = cell;
  }

  std::vector<Column> columns = {{"working set", true}};
  for (const std::string& page : pages) {
    columns.push_back({page + " ns", true});
    columns.push_back({page + " cycles", true});
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [size, cells] : by_size) {
    std::vector<std::string> row = {format_bytes(size)};
    for (const std::string& page : pages) {
      auto it = cells.find(page);
      row.push_back(it == cells.end() ? kMissing : it->second.ns);
      row.push_back(it == cells.end() ? kMissing : it->second.cycles);
    }
    rows.push_back(std::move(row));
  }
  std::string out = render_table(columns, rows, format);
  if (any_noisy)
    out += note_line(fmt::format("!: repetitions differ by more than {:.0f}% of the median (results: spread.noisy)",
                                 kNoisySpreadPct),
                     format);
  return out;
}

std::vector<Plot> latency_plots(const Results& results) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};
  std::string script;
  for (const std::string& page : pages) {
    script += block_name("latency", page) + " << EOD\n";
    for (const CurvePoint& p : latency_curve(results, page))
      script += fmt::format("{:.0f} {:.6g}\n", p.size_bytes / 1024.0, p.value);
    script += "EOD\n";
  }
  script += fmt::format("set title {} noenhanced\n", gnuplot_quote("load-to-use latency: " + plot_title_of(results)));
  script +=
      "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\n"
      "set xlabel 'working set (KiB)'\nset ylabel 'ns per load'\nset key top left\n"
      "set format x '%.0f'\n";
  int arrow = 1;
  for (const CacheInfo& cache : results.machine.caches) {
    if (cache.kind == "instruction" || cache.size_bytes <= 0) continue;
    const double kib = cache.size_bytes / 1024.0;
    script += fmt::format("set arrow {} from {:.6g}, graph 0 to {:.6g}, graph 1 nohead dashtype 2 lc rgb 'gray40'\n",
                          arrow, kib, kib);
    script += fmt::format("set label {} {} at {:.6g}, graph 0.97 right rotate by 90 offset -0.5,0 tc rgb 'gray40'\n",
                          arrow, gnuplot_quote(fmt::format("L{} reported {}", cache.level, format_bytes(cache.size_bytes))),
                          kib);
    ++arrow;
  }
  // A knee marker sits on the curve the levels were derived from, at the
  // measured point nearest the knee (a knee is a measured working set), not
  // at the level's latency, which can lie far from the curve there.
  const std::vector<CurvePoint> knee_curve = latency_curve(results, derived_curve_page(results));
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (!row.detected_bytes || knee_curve.empty()) continue;
    const CurvePoint* nearest = &knee_curve.front();
    for (const CurvePoint& p : knee_curve)
      if (std::fabs(std::log2(p.size_bytes / *row.detected_bytes)) <
          std::fabs(std::log2(nearest->size_bytes / *row.detected_bytes)))
        nearest = &p;
    script += fmt::format("set label {} {} at {:.0f}, {:.6g} point pt 7 ps 1.2 lc rgb 'red' offset 0.8,-0.8\n", arrow,
                          gnuplot_quote(row.level + " knee " + format_bytes(*row.detected_bytes)),
                          nearest->size_bytes / 1024.0, nearest->value);
    ++arrow;
  }
  std::vector<std::string> blocks, titles;
  for (const std::string& page : pages) {
    blocks.push_back(block_name("latency", page));
    titles.push_back(page + " pages");
  }
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.6");
  return {{"latency", with_outputs("latency", script),
           "load-to-use latency against working set, per page kind; red points mark the detected cache levels "
           "(knees), dashed lines the sizes the system reports"}};
}

namespace {

// memprobe fleet: each level's latency, then each cache's detected size.
std::vector<FleetColumn> latency_fleet_columns() {
  std::vector<FleetColumn> columns;
  const auto level_figure = [](const std::string& level, std::optional<double> CacheLevelRow::*member) {
    return [level, member](const Results& r) {
      for (const CacheLevelRow& row : r.derived.cache_levels)
        if (row.level == level) return row.*member;
      return std::optional<double>();
    };
  };
  for (const char* level : {"L1", "L2", "L3", "DRAM"})
    columns.push_back({fmt::format("{} ns", level), "latency_ns", false, level_figure(level, &CacheLevelRow::latency_ns)});
  for (const char* level : {"L1", "L2", "L3"})
    columns.push_back(
        {fmt::format("{} size", level), "detected_bytes", true, level_figure(level, &CacheLevelRow::detected_bytes)});
  return columns;
}

}  // namespace

namespace {

// The sweep needs no more points once the curve has shown DRAM.
std::optional<std::string> latency_sweep_complete(const Results& results, const std::string& page) {
  const auto dram = latency_dram_plateau(results, page);
  if (!dram) return std::nullopt;
  return fmt::format("the {} curve showed DRAM from {}: {}", page, format_bytes(dram->first_bytes), dram->how);
}

// Cache capacities are known only once the curve has gone past them into
// DRAM; before that the last knee may be anything. The level figures are
// where the drift family re-measures.
void latency_sizing_figures(const Results& results, SizingFigures& sizes) {
  const std::string page = preferred_latency_page(results);
  if (page.empty()) return;
  const std::vector<CacheLevelRow> rows = derive_cache_levels(results);
  if (const auto dram = table_dram_plateau(results, page)) {
    sizes.dram_from_bytes = static_cast<std::uint64_t>(dram->plateau.first_bytes);
    for (const CacheLevelRow& row : rows) {
      if (row.level == "DRAM") continue;
      sizes.cache_bytes.push_back(row.detected_bytes ? static_cast<std::uint64_t>(*row.detected_bytes) : 0);
      if (row.detected_bytes) sizes.level_knees.emplace_back(row.level, static_cast<std::uint64_t>(*row.detected_bytes));
    }
  } else {
    // A sweep cut short by its time limit can end an octave into DRAM: a
    // bound on the levels the later families size from, lower than the
    // sweep's end (a default run on a Zen 5 guest whose sweep ended at 256
    // MiB without DRAM sized its DRAM sets from that end: 95 s, not 50).
    DramPlateauRule one_octave;
    one_octave.min_octaves = kLocatedDramMinOctaves;
    for (const std::string& curve_page : verified_latency_pages(results)) {
      const std::vector<CasePoint> case_points = latency_case_points(results, curve_page);
      std::vector<CurvePoint> curve;
      for (const CasePoint& p : case_points) curve.push_back(p.point);
      if (curve.empty()) continue;
      const auto plateau = find_dram_plateau(segment_curve(curve), reported_data_caches(results.machine).size(),
                                             point_spreads(case_points), one_octave);
      if (!plateau) continue;
      const auto bound = static_cast<std::uint64_t>(plateau->first_bytes);
      if (sizes.cache_bound_bytes == 0 || bound < sizes.cache_bound_bytes) sizes.cache_bound_bytes = bound;
    }
  }
  // derive_cache_levels reads the curve preferred_latency_page picks: page.
  sizes.latency_page = page;
  for (const CacheLevelRow& row : rows)
    if (row.latency_ns && row.figure_bytes)
      sizes.level_figures.emplace_back(row.level, static_cast<std::uint64_t>(*row.figure_bytes));
}

}  // namespace

FamilyDescriptor describe_latency() {
  // Run first: later families size their working sets from its curve. Its
  // figures are typed (derived.cache_levels); compare lists them first, as
  // the table "cache".
  return {.name = "latency", .run_rank = 0, .report_rank = 0, .tables = {{"cache", 0, true, "", "working_set_bytes"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_latency, .render = render_latency_sections,
          .summary = latency_summary, .plots = latency_plots, .fleet_columns = latency_fleet_columns(),
          .sweep_complete = latency_sweep_complete, .sizing_figures = latency_sizing_figures};
}

}  // namespace memprobe::analysis
