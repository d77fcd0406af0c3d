#include "analysis/tlb.h"


#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <tuple>

#include "analysis/knees.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {


std::optional<double> number(const nlohmann::json& params, const char* key) {
  const auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  return std::nullopt;
}

std::string text(const nlohmann::json& params, const char* key) {
  const auto it = params.find(key);
  if (it == params.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Cycles per load of a case: the metric, or ns * core_hz; nullopt if neither.
std::optional<double> cycles_of(const Case& c, double core_hz) {
  if (auto it = c.metrics.find("cycles_per_load"); it != c.metrics.end()) return it->second;
  if (auto it = c.metrics.find("ns_per_load"); it != c.metrics.end() && core_hz > 0)
    return it->second * core_hz / 1e9;
  return std::nullopt;
}

std::optional<double> ns_of(const Case& c) {
  if (auto it = c.metrics.find("ns_per_load"); it != c.metrics.end()) return it->second;
  return std::nullopt;
}

int page_rank(const std::string& page) {
  static const std::vector<std::string> kOrder = {"4k", "thp", "hugetlb-2m", "hugetlb-1g"};
  const auto it = std::find(kOrder.begin(), kOrder.end(), page);
  return it == kOrder.end() ? static_cast<int>(kOrder.size()) : static_cast<int>(it - kOrder.begin());
}

// The page size the cases of `page` ran on (their page_bytes: "4k" is the
// base page, 16 or 64 KiB on some arm64 kernels; "thp" the PMD size); the
// x86-64 size only for a file whose cases lack it.
double page_bytes_of(const Results& results, const std::string& page) {
  for (const Case& c : results.cases)
    if (text(c.params, "page") == page)
      if (const auto bytes = number(c.params, "page_bytes"); bytes && *bytes > 0) return *bytes;
  if (page == "4k") return 4096;
  if (page == "thp" || page == "hugetlb-2m") return 2.0 * 1024 * 1024;
  if (page == "hugetlb-1g") return 1024.0 * 1024 * 1024;
  return 0;
}

std::optional<double> reported_entries(const Results& results, int level, double page_bytes) {
  for (const TlbInfo& t : results.machine.tlb)
    if (t.level == level && t.page_bytes == page_bytes) return t.entries;
  return std::nullopt;
}

std::string opt_number(const std::optional<double>& v, const char* format = "{:.0f}") {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string(kMissing);
}

nlohmann::json json_opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

std::string vm_reason(const Results& results) {
  if (!results.machine.hypervisor) return "";
  return fmt::format(" ({} guest: nested paging, and the host's page size, shape what the guest sees)",
                     *results.machine.hypervisor);
}

}  // namespace

std::vector<TlbPoint> tlb_curve(const Results& results, const std::string& page) {
  std::map<double, std::vector<double>> tlb, ref;
  for (const Case& c : results.cases) {
    if (c.family != "tlb") continue;
    const auto pages = number(c.params, "pages");
    const auto cycles = cycles_of(c, results.machine.core_hz);
    if (!pages || !cycles) continue;
    const std::string role = text(c.params, "role");
    // A huge-page figure counts only on a verified backing.
    const bool verified = c.backing.verified.empty() || c.backing.verified == c.backing.requested;
    if (role == "tlb" && text(c.params, "page") == page && verified) tlb[*pages].push_back(*cycles);
    else if (role == "reference") ref[*pages].push_back(*cycles);
  }
  std::vector<TlbPoint> curve;
  for (const auto& [pages, values] : tlb) {
    const auto it = ref.find(pages);
    if (it == ref.end()) continue;
    curve.push_back({pages, median_of(values), median_of(it->second)});
  }
  return curve;
}

bool has_unverified_tlb_cases(const Results& results, const std::string& page) {
  for (const Case& c : results.cases)
    if (c.family == "tlb" && text(c.params, "role") == "tlb" && text(c.params, "page") == page &&
        !c.backing.verified.empty() && c.backing.verified != c.backing.requested)
      return true;
  return false;
}

std::vector<std::string> tlb_pages(const Results& results) {
  std::vector<std::string> pages;
  for (const Case& c : results.cases) {
    if (c.family != "tlb" || text(c.params, "role") != "tlb") continue;
    const std::string page = text(c.params, "page");
    if (std::find(pages.begin(), pages.end(), page) == pages.end()) pages.push_back(page);
  }
  std::sort(pages.begin(), pages.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(page_rank(a), a) < std::make_pair(page_rank(b), b);
  });
  return pages;
}

std::vector<TlbStep> tlb_steps(const std::vector<TlbPoint>& curve) {
  std::vector<TlbStep> steps;
  if (curve.size() < 4) return steps;
  std::vector<double> refs;
  for (const TlbPoint& p : curve) refs.push_back(p.ref_cycles);
  std::sort(refs.begin(), refs.end());
  const double floor_cycles = std::max(1.0, refs[refs.size() / 4]);
  std::vector<CurvePoint> points;
  for (const TlbPoint& p : curve)
    points.push_back({p.pages, floor_cycles + std::max(p.delta_cycles(), -floor_cycles / 2)});
  const Segmentation seg = segment_curve(points);
  for (const Knee& knee : seg.knees) {
    const double below = seg.plateaus[knee.plateau_below].level - floor_cycles;
    const double above = seg.plateaus[knee.plateau_below + 1].level - floor_cycles;
    const double below_y = below + floor_cycles, above_y = above + floor_cycles;
    if (above - below < kMinTlbStepCycles || above_y / below_y < kMinTlbStepRatio) continue;
    steps.push_back({knee.size_bytes, below, above});
  }
  return steps;
}

std::vector<TlbLevelRow> derive_tlb_levels(const Results& results) {
  std::vector<TlbLevelRow> rows;
  std::optional<double> l1_miss_4k;
  for (const std::string& page : tlb_pages(results)) {
    const double page_bytes = page_bytes_of(results, page);
    const std::vector<TlbPoint> curve = tlb_curve(results, page);
    std::array<TlbLevelRow, 2> level;
    for (int i = 0; i < 2; ++i) {
      level[i].level = i == 0 ? "L1 DTLB" : "L2 DTLB";
      level[i].page = page;
      level[i].page_bytes = page_bytes;
      level[i].reported_entries = reported_entries(results, i + 1, page_bytes);
    }
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
    const double max_pages = curve.back().pages;
    const double min_pages = curve.front().pages;
    const std::vector<TlbStep> steps = tlb_steps(curve);

    // Knees to levels: in order; a lone knee to the nearer CPUID figure.
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
    for (int i = 0; i < 2; ++i) {
      TlbLevelRow& row = level[i];
      if (matched[i]) {
        row.detected_entries = matched[i]->knee_pages;
        row.reach_bytes = matched[i]->knee_pages * page_bytes;
        row.miss_cost_cycles = matched[i]->above_cycles - matched[i]->below_cycles;
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
      }
    }
    // Beyond the L2 knee delta often keeps rising: walks slow down as
    // page-table entries leave the caches; say so rather than hide it.
    if (steps.size() > 2) {
      std::string more;
      for (std::size_t k = 2; k < steps.size(); ++k)
        more += fmt::format("{}{:.0f} pages (to {:.0f} cycles)", more.empty() ? "" : ", ", steps[k].knee_pages,
                            steps[k].above_cycles);
      level[1].note += fmt::format("{}further steps at {}: walks slow down as page-table entries leave the caches",
                                   level[1].note.empty() ? "" : "; ", more);
    }
    if (page == "4k" && level[0].miss_cost_cycles) l1_miss_4k = level[0].miss_cost_cycles;
    if (page != "4k" && l1_miss_4k && level[0].miss_cost_cycles && *level[0].miss_cost_cycles > 2 * *l1_miss_4k)
      level[0].note += fmt::format(
          "{}an L1 DTLB miss costs {:.0f} cycles here vs {:.0f} on 4k pages: these misses look like walks, "
          "not L2 DTLB hits{}",
          level[0].note.empty() ? "" : "; ", *level[0].miss_cost_cycles, *l1_miss_4k,
          results.machine.hypervisor ? " (a guest's huge pages are only as large in the TLB as the host's backing)"
                                     : "");
    rows.push_back(level[0]);
    rows.push_back(level[1]);
  }
  return rows;
}

WalkFigures walk_arithmetic(double walk_tlb, double walk_ref, double l2hit_tlb, double l2hit_ref) {
  WalkFigures f;
  f.miss_cycles = walk_tlb - walk_ref;
  f.l2_hit_cycles = l2hit_tlb - l2hit_ref;
  f.walk_cycles = f.miss_cycles - f.l2_hit_cycles;
  return f;
}

std::vector<PageWalkRow> derive_page_walk(const Results& results) {
  struct Figures {
    double cycles = 0, ns = 0, pages = 0;
    bool nested = false;
    std::string l2_dtlb_from;  // pagewalk's label: measured, cpuid, default ("" in older files)
  };
  std::map<double, Figures> refs;  // by pages: any reference at that footprint
  // The reference measured right after its case: (for_page, pair) -> figures.
  std::map<std::pair<std::string, std::string>, Figures> paired_refs;
  std::map<std::pair<std::string, std::string>, Figures> walks, l2hits;  // (page, pte)
  const double core_hz = results.machine.core_hz;
  for (const Case& c : results.cases) {
    if (c.family != "pagewalk") continue;
    const std::string case_role = text(c.params, "role");
    // Walk and L2-hit figures count only on the backing they asked for.
    if (case_role != "reference" && !c.backing.verified.empty() && c.backing.verified != c.backing.requested) continue;
    const auto pages = number(c.params, "pages");
    const auto cycles = cycles_of(c, core_hz);
    const auto ns = ns_of(c);
    if (!pages || !cycles || !ns) continue;
    const Figures f{*cycles, *ns, *pages, number(c.params, "nested_paging").value_or(0) != 0,
                    text(c.params, "l2_dtlb_from")};
    const std::string role = text(c.params, "role");
    const std::string pte = text(c.params, "pte").empty() ? "warm" : text(c.params, "pte");
    if (role == "reference") {
      refs[*pages] = f;
      if (!text(c.params, "pair").empty()) paired_refs[{text(c.params, "for_page"), text(c.params, "pair")}] = f;
    }
    else if (role == "walk") walks[{text(c.params, "page"), pte}] = f;
    else if (role == "l2hit") l2hits[{text(c.params, "page"), pte}] = f;
  }
  // A case's own reference if it has one, else any at the same page count.
  const auto reference_for = [&](const std::string& page, const std::string& pair,
                                 double pages) -> std::optional<Figures> {
    if (const auto it = paired_refs.find({page, pair}); it != paired_refs.end() && it->second.pages == pages)
      return it->second;
    if (const auto it = refs.find(pages); it != refs.end()) return it->second;
    return std::nullopt;
  };
  std::vector<PageWalkRow> rows;
  for (const auto& [key, walk] : walks) {
    PageWalkRow row;
    row.page = key.first;
    row.pte = key.second;
    row.walk_pages = walk.pages;
    row.nested_paging = walk.nested || results.machine.hypervisor.has_value();
    const auto ref = reference_for(key.first, key.second == "cold" ? "walk-cold-pte" : "walk", walk.pages);
    if (!ref) {
      row.note = "no reference at the walk's page count";
      rows.push_back(row);
      continue;
    }
    row.miss_cycles = walk.cycles - ref->cycles;
    const auto l2 = l2hits.find({key.first, "warm"});
    const auto l2ref =
        l2 == l2hits.end() ? std::nullopt : reference_for(key.first, "l2hit", l2->second.pages);
    if (l2 != l2hits.end() && l2ref) {
      const WalkFigures f = walk_arithmetic(walk.cycles, ref->cycles, l2->second.cycles, l2ref->cycles);
      const WalkFigures f_ns = walk_arithmetic(walk.ns, ref->ns, l2->second.ns, l2ref->ns);
      row.cycles = f.walk_cycles;
      row.ns = f_ns.walk_cycles;
      row.l2_hit_cycles = f.l2_hit_cycles;
      row.l2hit_pages = l2->second.pages;
    } else {
      row.note = "no L2-hit pair: the walk column would need it; tlb - ref is L1 miss + walk";
    }
    if (row.pte == "cold") {
      row.note += fmt::format("{}pages spaced so every load needs its own page-table-entry line",
                              row.note.empty() ? "" : "; ");
    }
    // The walk point is sized from the tlb family's detected L2 DTLB in the
    // same run; CPUID's figure (which overflows on 2048+ entry TLBs) only
    // when tlb was not run, and then the note says so.
    const auto reported_l2 = reported_entries(results, 2, page_bytes_of(results, row.page));
    if (walk.l2_dtlb_from == "cpuid")
      row.note += fmt::format("{}sized from CPUID's L2 DTLB{} (tlb not in this run)", row.note.empty() ? "" : "; ",
                              reported_l2 ? fmt::format(" ({:.0f})", *reported_l2) : "");
    else if (walk.l2_dtlb_from == "default")
      row.note += fmt::format("{}sized from a default L2 DTLB size (neither tlb nor CPUID gave one)",
                              row.note.empty() ? "" : "; ");
    if (walk.l2_dtlb_from != "measured" && reported_l2 && row.walk_pages <= *reported_l2)
      row.note += fmt::format("{}walk point ({:.0f} pages) is not past CPUID's L2 DTLB ({:.0f})",
                              row.note.empty() ? "" : "; ", row.walk_pages, *reported_l2);
    rows.push_back(row);
  }
  // Pages with only an L2-hit pair (the walk point did not fit in memory).
  for (const auto& [key, l2] : l2hits) {
    if (walks.count(key)) continue;
    PageWalkRow row;
    row.page = key.first;
    row.pte = key.second;
    row.l2hit_pages = l2.pages;
    row.nested_paging = l2.nested || results.machine.hypervisor.has_value();
    if (const auto ref = reference_for(key.first, "l2hit", l2.pages)) row.l2_hit_cycles = l2.cycles - ref->cycles;
    row.note = "no walk point (see unavailable): only the L1-miss cost between the DTLB sizes";
    rows.push_back(row);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const PageWalkRow& a, const PageWalkRow& b) {
    return std::make_tuple(page_rank(a.page), a.page, a.pte != "warm") <
           std::make_tuple(page_rank(b.page), b.page, b.pte != "warm");
  });
  return rows;
}

// A stride whose cost exceeds the small-stride plateau by this much has left
// it: above the 10 % spread that flags a noisy case, below the partial rise
// an adjacent-line prefetcher leaves at the line size.
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

std::optional<double> stride_line_estimate(const std::vector<StrideSet>& sets) {
  if (sets.empty()) return std::nullopt;
  return sets.back().jump_stride_bytes;
}

std::vector<StrideSet> derive_stride(const Results& results) {
  std::map<double, StrideSet> sets;
  for (const Case& c : results.cases) {
    if (c.family != "stride") continue;
    const auto ws = number(c.params, "working_set_bytes");
    const auto stride = number(c.params, "stride_bytes");
    const auto ns = ns_of(c);
    if (!ws || !stride || !ns) continue;
    StrideSet& set = sets[*ws];
    set.working_set_bytes = *ws;
    set.page = text(c.params, "page");
    StridePoint p;
    p.pattern = text(c.params, "pattern");
    p.stride_bytes = p.pattern == "random" ? 0 : *stride;
    p.ns = *ns;
    p.cycles = cycles_of(c, results.machine.core_hz);
    p.lines_touched = number(c.params, "lines_touched").value_or(0);
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
    if (!set.jump_stride_bytes)
      set.note = "no clear jump in cost per access at or below 2 KiB stride (prefetchers may hide the line)";
    out.push_back(set);
  }
  return out;
}

std::string render_tlb_table(const Results& results, TableFormat format) {
  const std::vector<TlbLevelRow> rows = derive_tlb_levels(results);
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> cells;
  std::string notes;
  for (const TlbLevelRow& r : rows) {
    cells.push_back({r.level, r.page, opt_number(r.reported_entries), opt_number(r.detected_entries),
                     r.reach_bytes ? format_bytes(*r.reach_bytes) : kMissing,
                     opt_number(r.miss_cost_cycles, "{:.1f}")});
    if (!r.note.empty()) notes += note_line(fmt::format("{} {}: {}", r.level, r.page, r.note), format);
  }
  return render_table({{"TLB level", false},
                       {"page", false},
                       {"reported entries", true},
                       {"detected entries", true},
                       {"reach", true},
                       {"miss cost cycles", true}},
                      cells, format) +
         note_line("reported = CPUID; detected = knee of (tlb - same-footprint reference) cycles vs pages; miss cost = "
                   "step height",
                   format) +
         notes;
}

std::string render_page_walk_table(const Results& results, TableFormat format) {
  const std::vector<PageWalkRow> rows = derive_page_walk(results);
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> cells;
  std::string notes;
  bool nested = false;
  for (const PageWalkRow& r : rows) {
    nested = nested || r.nested_paging;
    cells.push_back({r.page, r.pte, opt_number(r.cycles, "{:.1f}"), opt_number(r.ns, "{:.1f}"),
                     opt_number(r.l2_hit_cycles, "{:.1f}"), opt_number(r.miss_cycles, "{:.1f}"),
                     r.walk_pages > 0 ? fmt::format("{:.0f}", r.walk_pages) : kMissing,
                     r.nested_paging ? "yes" : "no"});
    if (!r.note.empty()) notes += note_line(fmt::format("{} {}: {}", r.page, r.pte, r.note), format);
  }
  std::string out = render_table({{"page", false},
                                  {"PTEs", false},
                                  {"walk cycles", true},
                                  {"walk ns", true},
                                  {"L2-hit cycles", true},
                                  {"miss cycles", true},
                                  {"walk pages", true},
                                  {"nested paging", true}},
                                 cells, format);
  out += note_line(
      "walk = (tlb - ref) past the L2 DTLB - (tlb - ref) on the L2-hit plateau; miss = (tlb - ref) past the L2 DTLB",
      format);
  if (nested)
    out += note_line(fmt::format("measured in a {} guest: each walk is a 2D (nested) walk, so these are effective "
                                 "costs under virtualisation, not the CPU's native walk latency",
                                 results.machine.hypervisor.value_or("virtual machine")),
                     format);
  return out + notes;
}

std::string render_stride_table(const Results& results, TableFormat format) {
  const std::vector<StrideSet> sets = derive_stride(results);
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
  for (const StrideSet& set : sets) {
    out += note_line(fmt::format("{} ({} pages): {}", format_bytes(set.working_set_bytes), set.page,
                                 set.jump_stride_bytes ? fmt::format("cost per access jumps at {} stride",
                                                                     format_bytes(*set.jump_stride_bytes))
                                                       : set.note),
                     format);
  }
  const auto line = stride_line_estimate(sets);
  std::string hwloc;
  for (const CacheInfo& c : results.machine.caches)
    if (c.level == 1 && c.line_bytes > 0) {
      hwloc = fmt::format("; hwloc reports {} lines", format_bytes(c.line_bytes));
      break;
    }
  // A set capped by --max-working-set may still fit the last level.
  const CacheInfo* largest_cache = nullptr;
  for (const CacheInfo& c : results.machine.caches)
    if (c.kind != "instruction" && (!largest_cache || c.size_bytes > largest_cache->size_bytes)) largest_cache = &c;
  const std::string where =
      largest_cache && sets.back().working_set_bytes <= largest_cache->size_bytes
          ? fmt::format("which fits the {} L{}", format_bytes(largest_cache->size_bytes), largest_cache->level)
          : std::string("beyond the caches");
  out += note_line(line ? fmt::format("line size estimate: {} (jump stride of the {} set, {}){}", format_bytes(*line),
                                      format_bytes(sets.back().working_set_bytes), where, hwloc)
                        : fmt::format("line size estimate: none (no clear jump in the {} set){}",
                                      format_bytes(sets.back().working_set_bytes), hwloc),
                   format);
  return out;
}

void derive_tlb_family(Results& results) {
  nlohmann::json& extra = results.derived.extra;
  const std::vector<TlbLevelRow> levels = derive_tlb_levels(results);
  if (!levels.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const TlbLevelRow& r : levels)
      rows.push_back({{"level", r.level},
                      {"page", r.page},
                      {"page_bytes", r.page_bytes},
                      {"reported_entries", json_opt(r.reported_entries)},
                      {"detected_entries", json_opt(r.detected_entries)},
                      {"reach_bytes", json_opt(r.reach_bytes)},
                      {"miss_cost_cycles", json_opt(r.miss_cost_cycles)},
                      {"note", r.note}});
    extra["tlb"] = rows;
  }
  const std::vector<PageWalkRow> walks = derive_page_walk(results);
  if (!walks.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const PageWalkRow& r : walks)
      rows.push_back({{"page", r.page},
                      {"pte", r.pte},
                      {"cycles", json_opt(r.cycles)},
                      {"ns", json_opt(r.ns)},
                      {"miss_cycles", json_opt(r.miss_cycles)},
                      {"l2_hit_cycles", json_opt(r.l2_hit_cycles)},
                      {"walk_pages", r.walk_pages},
                      {"l2hit_pages", r.l2hit_pages},
                      {"nested_paging", r.nested_paging},
                      {"note", r.note}});
    extra["page_walk"] = rows;
  }
  const std::vector<StrideSet> sets = derive_stride(results);
  if (!sets.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const StrideSet& s : sets) {
      nlohmann::json points = nlohmann::json::array();
      for (const StridePoint& p : s.points)
        points.push_back({{"stride_bytes", p.stride_bytes},
                          {"pattern", p.pattern},
                          {"ns_per_access", p.ns},
                          {"cycles_per_access", json_opt(p.cycles)},
                          {"lines_touched", p.lines_touched}});
      rows.push_back({{"working_set_bytes", s.working_set_bytes},
                      {"page", s.page},
                      {"jump_stride_bytes", json_opt(s.jump_stride_bytes)},
                      {"note", s.note},
                      {"points", points}});
    }
    extra["stride"] = rows;
    extra["stride_line_estimate_bytes"] = json_opt(stride_line_estimate(sets));
  }
}

}  // namespace memprobe::analysis
