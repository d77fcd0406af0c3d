#include "analysis/families/pagewalk.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {
namespace {

nlohmann::json to_json(const PagewalkRow& r) {
  return {{"page", r.page},
          {"pte", r.pte},
          {"cycles", json_opt(r.cycles)},
          {"ns", json_opt(r.ns)},
          {"miss_cycles", json_opt(r.miss_cycles)},
          {"l2_hit_cycles", json_opt(r.l2_hit_cycles)},
          {"walk_pages", r.walk_pages},
          {"l2hit_pages", r.l2hit_pages},
          {"nested_paging", r.nested_paging},
          {"note", r.note}};
}

PagewalkRow pagewalk_row_from_json(const nlohmann::json& row) {
  PagewalkRow r;
  r.page = json_string(row, "page");
  r.pte = json_string(row, "pte");
  r.cycles = json_number(row, "cycles");
  r.ns = json_number(row, "ns");
  r.miss_cycles = json_number(row, "miss_cycles");
  r.l2_hit_cycles = json_number(row, "l2_hit_cycles");
  r.walk_pages = json_number(row, "walk_pages").value_or(0);
  r.l2hit_pages = json_number(row, "l2hit_pages").value_or(0);
  r.nested_paging = row.value("nested_paging", false);
  r.note = json_string(row, "note");
  return r;
}

}  // namespace

WalkFigures walk_arithmetic(double walk_tlb, double walk_ref, double l2hit_tlb, double l2hit_ref) {
  WalkFigures f;
  f.miss_cycles = walk_tlb - walk_ref;
  f.l2_hit_cycles = l2hit_tlb - l2hit_ref;
  f.walk_cycles = f.miss_cycles - f.l2_hit_cycles;
  return f;
}

namespace {

// One pagewalk case's medians.
struct WalkCase {
  double cycles = 0, ns = 0, pages = 0;
  bool nested = false;
  std::string l2_dtlb_from;  // pagewalk's label: measured, cpuid, default ("" in older files)
};

using PagePte = std::pair<std::string, std::string>;  // (page, pte)

// The pagewalk cases by role.
struct WalkCases {
  std::map<double, WalkCase> refs;  // by pages: any reference at that footprint
  // The reference measured right after its case: (for_page, pair) -> figures.
  std::map<std::pair<std::string, std::string>, WalkCase> paired_refs;
  std::map<PagePte, WalkCase> walks, l2hits;

  // A case's own reference if it has one, else any at the same page count.
  std::optional<WalkCase> reference_for(const std::string& page, const std::string& pair, double pages) const {
    if (const auto it = paired_refs.find({page, pair}); it != paired_refs.end() && it->second.pages == pages)
      return it->second;
    if (const auto it = refs.find(pages); it != refs.end()) return it->second;
    return std::nullopt;
  }
};

WalkCases walk_cases(const Results& results) {
  WalkCases out;
  for (const Case& c : results.cases) {
    if (c.family != "pagewalk") continue;
    const std::string role = param_text(c.params, "role");
    // Walk and L2-hit figures count only on the backing they asked for.
    if (role != "reference" && !c.backing.verified.empty() && c.backing.verified != c.backing.requested) continue;
    const auto pages = json_number(c.params, "pages");
    const auto cycles = cycles_of(c, results.machine.core_hz);
    const auto ns = metric(c, "ns_per_load");
    if (!pages || !cycles || !ns) continue;
    const WalkCase f{*cycles, *ns, *pages, json_number(c.params, "nested_paging").value_or(0) != 0,
                     param_text(c.params, "l2_dtlb_from")};
    const std::string pte = param_text(c.params, "pte").empty() ? "warm" : param_text(c.params, "pte");
    if (role == "reference") {
      out.refs[*pages] = f;
      if (!param_text(c.params, "pair").empty())
        out.paired_refs[{param_text(c.params, "for_page"), param_text(c.params, "pair")}] = f;
    } else if (role == "walk") {
      out.walks[{param_text(c.params, "page"), pte}] = f;
    } else if (role == "l2hit") {
      out.l2hits[{param_text(c.params, "page"), pte}] = f;
    }
  }
  return out;
}

// The walk point is sized from the tlb family's detected L2 DTLB in the same
// run; CPUID's figure (which overflows on 2048+ entry TLBs) only when tlb was
// not run, and then the note says so.
void note_walk_sizing(const Results& results, const WalkCase& walk, PagewalkRow& row) {
  const auto reported_l2 = reported_entries(results, 2, page_bytes_of(results, row.page));
  if (walk.l2_dtlb_from == "cpuid")
    append_note(row.note, fmt::format("sized from CPUID's L2 DTLB{} (tlb not in this run)",
                                      reported_l2 ? fmt::format(" ({:.0f})", *reported_l2) : ""));
  else if (walk.l2_dtlb_from == "default")
    append_note(row.note, "sized from a default L2 DTLB size (neither tlb nor CPUID gave one)");
  if (walk.l2_dtlb_from != "measured" && reported_l2 && row.walk_pages <= *reported_l2)
    append_note(row.note, fmt::format("walk point ({:.0f} pages) is not past CPUID's L2 DTLB ({:.0f})",
                                      row.walk_pages, *reported_l2));
}

// A row's identity: page, PTE placement, and whether walks are nested.
PagewalkRow row_of(const Results& results, const PagePte& key, const WalkCase& from) {
  PagewalkRow row;
  row.page = key.first;
  row.pte = key.second;
  row.nested_paging = from.nested || results.machine.hypervisor.has_value();
  return row;
}

// The row of a walk point: miss cost against its reference, walk cost
// against the page's L2-hit pair.
PagewalkRow walk_row(const Results& results, const WalkCases& cases, const PagePte& key, const WalkCase& walk) {
  PagewalkRow row = row_of(results, key, walk);
  row.walk_pages = walk.pages;
  const auto ref = cases.reference_for(key.first, key.second == "cold" ? "walk-cold-pte" : "walk", walk.pages);
  if (!ref) {
    row.note = "no reference at the walk's page count";
    return row;
  }
  row.miss_cycles = walk.cycles - ref->cycles;
  const auto l2 = cases.l2hits.find({key.first, "warm"});
  const auto l2ref = l2 == cases.l2hits.end() ? std::nullopt : cases.reference_for(key.first, "l2hit", l2->second.pages);
  if (l2 != cases.l2hits.end() && l2ref) {
    const WalkFigures f = walk_arithmetic(walk.cycles, ref->cycles, l2->second.cycles, l2ref->cycles);
    const WalkFigures f_ns = walk_arithmetic(walk.ns, ref->ns, l2->second.ns, l2ref->ns);
    row.cycles = f.walk_cycles;
    row.ns = f_ns.walk_cycles;
    row.l2_hit_cycles = f.l2_hit_cycles;
    row.l2hit_pages = l2->second.pages;
  } else {
    row.note = "no L2-hit pair: the walk column would need it; tlb - ref is L1 miss + walk";
  }
  if (row.pte == "cold") append_note(row.note, "pages spaced so every load needs its own page-table-entry line");
  note_walk_sizing(results, walk, row);
  return row;
}

// A page with only an L2-hit pair (the walk point did not fit in memory).
PagewalkRow l2hit_only_row(const Results& results, const WalkCases& cases, const PagePte& key, const WalkCase& l2) {
  PagewalkRow row = row_of(results, key, l2);
  row.l2hit_pages = l2.pages;
  if (const auto ref = cases.reference_for(key.first, "l2hit", l2.pages)) row.l2_hit_cycles = l2.cycles - ref->cycles;
  row.note = "no walk point (see unavailable): only the L1-miss cost between the DTLB sizes";
  return row;
}

}  // namespace

std::vector<PagewalkRow> derive_pagewalk_rows(const Results& results) {
  const WalkCases cases = walk_cases(results);
  std::vector<PagewalkRow> rows;
  for (const auto& [key, walk] : cases.walks) rows.push_back(walk_row(results, cases, key, walk));
  for (const auto& [key, l2] : cases.l2hits)
    if (!cases.walks.count(key)) rows.push_back(l2hit_only_row(results, cases, key, l2));
  std::stable_sort(rows.begin(), rows.end(), [](const PagewalkRow& a, const PagewalkRow& b) {
    return std::make_tuple(page_rank(a.page), a.page, a.pte != "warm") <
           std::make_tuple(page_rank(b.page), b.page, b.pte != "warm");
  });
  return rows;
}

void derive_pagewalk(Results& results) { store_rows(results, "pagewalk", derive_pagewalk_rows(results), to_json); }

std::vector<PagewalkRow> pagewalk_rows(const Results& results) {
  return load_rows(results, "pagewalk", pagewalk_row_from_json);
}

std::string render_pagewalk_table(const Results& results, TableFormat format) {
  const std::vector<PagewalkRow> rows = pagewalk_rows(results);
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> cells;
  std::string notes;
  bool nested = false;
  for (const PagewalkRow& r : rows) {
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

FamilyDescriptor describe_pagewalk() {
  return {.name = "pagewalk", .run_rank = 3, .report_rank = 4, .tables = {{"pagewalk", 2, true, "page_walk"}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_pagewalk, .render = render_pagewalk_table,
          .summary = nullptr, .plots = nullptr};
}

}  // namespace memprobe::analysis
