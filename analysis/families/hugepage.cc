#include "analysis/families/hugepage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/families/tlb.h"
#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Within this ratio of 1 a speed-up is reported as "same".
constexpr double kSameWithin = 0.03;

constexpr const char* kRegionOrder[] = {"cache", "tlb", "dram"};

// A 4 KiB chase this many times the TLB-local DRAM latency pays visibly for
// its walks: what huge pages should remove.
constexpr double kWalksVisibleOverDram = 1.25;

// "4k", "thp", "2m", "1g": the column prefix.
std::string page_short(const std::string& page) {
  if (page == "hugetlb-2m") return "2m";
  if (page == "hugetlb-1g") return "1g";
  return page;
}

// How a sentence names a page policy.
std::string page_words(const std::string& page) {
  if (page == "4k") return "4 KiB pages";
  if (page == "thp") return "THP (2 MiB)";
  if (page == "hugetlb-2m") return "2 MiB pages";
  if (page == "hugetlb-1g") return "1 GiB pages";
  return page + " pages";
}

std::string region_words(const std::string& region) {
  if (region == "cache") return "Cache-resident";
  if (region == "tlb") return "TLB-bound";
  if (region == "dram") return "DRAM-sized";
  return region;
}

json to_json(const HugepageRow& r) {
  json row = {{"working_set_bytes", r.working_set_bytes}, {"page", r.page},
              {"region", r.region},                       {"ns_per_load", r.ns_per_load},
              {"backing_verified", r.backing_verified},   {"backing", r.backing},
              {"huge_fraction", json_opt(r.huge_fraction)}, {"speedup_vs_4k", json_opt(r.speedup_vs_4k)}};
  if (r.cycles_per_load) row["cycles_per_load"] = *r.cycles_per_load;
  if (!r.note.empty()) row["note"] = r.note;
  return row;
}

HugepageRow hugepage_row_from_json(const json& row) {
  return {json_number(row, "working_set_bytes").value_or(0),
          json_string(row, "page"),
          json_string(row, "region"),
          json_number(row, "ns_per_load").value_or(0),
          json_number(row, "cycles_per_load"),
          json_bool(row, "backing_verified").value_or(false),
          json_string(row, "backing"),
          json_number(row, "huge_fraction"),
          json_number(row, "speedup_vs_4k"),
          json_string(row, "note")};
}

json to_json(const DramTranslationRow& r) {
  json row = {{"page", r.page},
              {"working_set_bytes", r.working_set_bytes},
              {"latency_ns", r.latency_ns},
              {"backing_verified", r.backing_verified}};
  if (r.vs_dram) row["vs_dram"] = *r.vs_dram;
  if (r.latency_cycles) row["latency_cycles"] = *r.latency_cycles;
  return row;
}

DramTranslationRow dram_translation_row_from_json(const json& row) {
  return {json_string(row, "page"),
          json_number(row, "working_set_bytes").value_or(0),
          json_number(row, "latency_ns").value_or(0),
          json_number(row, "latency_cycles"),
          json_number(row, "vs_dram"),
          json_bool(row, "backing_verified").value_or(false)};
}

// One row of derived.hugepage: case `c` of `page` at working set `ws`, with
// `base` the 4k case at the same working set (nullptr if none).
HugepageRow hugepage_row(double ws, const std::string& page, const Case& c, const Case* base) {
  HugepageRow row{ws,
                  page,
                  json_string(c.params, "region"),
                  *metric(c, "ns_per_load"),
                  metric(c, "cycles_per_load"),
                  backing_verified(c.backing),
                  c.backing.verified,
                  c.backing.huge_fraction,
                  std::nullopt,
                  ""};
  if (!row.backing_verified)
    row.note = page == "4k" ? "4 KiB request not backed by 4 KiB pages" : kNotHugeNote;
  else if (page == "4k")
    row.speedup_vs_4k = 1.0;
  else if (base == nullptr || !backing_verified(base->backing))
    row.note = base ? "4 KiB baseline not verified" : "no 4 KiB baseline at this working set";
  else
    row.speedup_vs_4k = speedup_vs_4k(*metric(*base, "ns_per_load"), row.ns_per_load);
  return row;
}

// "%" of a huge-page share, for the backing column.
std::string backing_text(const HugepageRow& row) {
  if (row.backing == "mixed" && row.huge_fraction)
    return fmt::format("mixed, {:.0f} % huge", *row.huge_fraction * 100);
  return row.backing.empty() ? "unverified" : row.backing;
}

// The summary's "huge pages" row: the DRAM-sized sentence. When the huge-page
// family ran without a DRAM-sized point (a small --max-working-set), the row
// says so instead of vanishing; empty only when the family was not run.
std::string hugepage_summary_line(const Results& results) {
  for (const std::string& sentence : hugepage_summary(results))
    if (sentence.rfind("DRAM", 0) == 0) return sentence;
  double largest_bytes = 0;
  bool ran = false;
  for (const Case& c : results.cases) {
    if (c.family != "hugepage") continue;
    ran = true;
    largest_bytes = std::max(largest_bytes, json_number(c.params, "working_set_bytes").value_or(0));
  }
  for (const UnavailableFigure& u : results.unavailable) ran = ran || u.what.rfind("hugepage/", 0) == 0;
  if (!ran) return {};
  if (largest_bytes > 0)
    return fmt::format("no DRAM-sized point measured (largest working set {}; a larger --max-working-set reaches "
                       "DRAM)",
                       format_bytes(largest_bytes));
  return "no point measured (see unavailable)";
}

// One working set's row of the huge-page table: ns per policy, speed-ups,
// and the backing column (which policies were not huge, and what they got).
std::vector<std::string> hugepage_cells(double ws, const std::map<std::string, const HugepageRow*>& by_page,
                                        const std::set<std::string, decltype(&page_less)>& pages,
                                        const std::map<std::string, std::string>& unavailable) {
  std::vector<std::string> cells = {format_bytes(ws)};
  std::string region;
  for (const auto& [page, row] : by_page)
    if (region.empty()) region = row->region;
  cells.push_back(region.empty() ? kMissing : region);
  for (const std::string& p : pages) {
    const auto found = by_page.find(p);
    if (found != by_page.end()) cells.push_back(format_ns(found->second->ns_per_load));
    else cells.push_back(unavailable.count(p) ? "unavailable" : kMissing);
  }
  std::vector<std::string> not_huge;
  for (const std::string& p : pages) {
    if (p == "4k") continue;
    const auto found = by_page.find(p);
    std::optional<double> s;
    if (found != by_page.end()) {
      s = found->second->speedup_vs_4k;
      if (!s && found->second->note == kNotHugeNote)
        not_huge.push_back(fmt::format("{}: {} ({})", page_short(p), kNotHugeNote, backing_text(*found->second)));
    }
    cells.push_back(s ? format_times(*s) : std::string(kMissing));
  }
  if (const auto base = by_page.find("4k"); base != by_page.end() && !base->second->backing_verified)
    not_huge.insert(not_huge.begin(), fmt::format("4k: {}", backing_text(*base->second)));
  std::string backing = "verified";
  if (!not_huge.empty()) {
    backing.clear();
    for (std::size_t i = 0; i < not_huge.size(); ++i) backing += (i ? "; " : "") + not_huge[i];
  }
  cells.push_back(backing);
  return cells;
}

std::vector<SummaryLine> hugepage_summary_lines(const Results& results) {
  std::vector<SummaryLine> lines;
  // Next to the latency row (rank 0), before the DTLB entries (20).
  if (const std::string translation = dram_translation_text(results); !translation.empty())
    lines.push_back({10, "DRAM + translation", translation});
  if (const std::string huge = hugepage_summary_line(results); !huge.empty()) lines.push_back({30, "huge pages", huge});
  return lines;
}

void derive_hugepage_family(Results& results) {
  derive_hugepage(results);
  derive_dram_translation(results);
}

}  // namespace

std::optional<double> speedup_vs_4k(double ns_4k, double ns_page) {
  if (!(ns_4k > 0) || !(ns_page > 0)) return std::nullopt;
  return ns_4k / ns_page;
}

bool backing_verified(const BackingInfo& backing) {
  return !backing.requested.empty() && backing.verified == backing.requested;
}

void derive_hugepage(Results& results) {
  // working set -> page -> case
  std::map<double, std::map<std::string, const Case*, decltype(&page_less)>> grid;
  for (const Case& c : results.cases) {
    if (c.family != "hugepage") continue;
    const auto ws = param_number(c, "working_set_bytes");
    const std::string page = json_string(c.params, "page");
    if (!ws || page.empty() || !metric(c, "ns_per_load")) continue;
    grid.try_emplace(*ws, &page_less).first->second[page] = &c;
  }
  std::vector<HugepageRow> rows;
  for (const auto& [ws, pages] : grid) {
    const Case* base = pages.count("4k") ? pages.at("4k") : nullptr;
    for (const auto& [page, c] : pages) rows.push_back(hugepage_row(ws, page, *c, base));
  }
  store_rows(results, "hugepage", rows, to_json);
}

std::vector<HugepageRow> hugepage_rows(const Results& results) {
  return load_rows(results, "hugepage", hugepage_row_from_json);
}

namespace {

// "THP (2 MiB) 1.55x faster than 4 KiB pages at 4 GiB, paying from 256 MiB
// (1.12x)": the speed-up at the ladder's largest verified set, and the
// smallest set from which every larger one is faster by more than
// kSameWithin.
std::string dram_ladder_words(const std::vector<const HugepageRow*>& rows, const std::string& page) {
  std::vector<const HugepageRow*> ladder;
  for (const HugepageRow* row : rows)
    if (row->page == page && row->speedup_vs_4k) ladder.push_back(row);
  std::sort(ladder.begin(), ladder.end(),
            [](const HugepageRow* a, const HugepageRow* b) { return a->working_set_bytes < b->working_set_bytes; });
  const HugepageRow& top = *ladder.back();
  const double s = *top.speedup_vs_4k;
  const HugepageRow* from = nullptr;
  for (auto it = ladder.rbegin(); it != ladder.rend() && *(*it)->speedup_vs_4k > 1.0 + kSameWithin; ++it) from = *it;
  if (from && from == &top)
    return fmt::format("{} {:.2f}x faster than 4 KiB pages at {}{}", page_words(page), s,
                       format_bytes(top.working_set_bytes), ladder.size() > 1 ? ", only at the largest set" : "");
  if (from)
    return fmt::format("{} {:.2f}x faster than 4 KiB pages at {}, paying from {} ({:.2f}x)", page_words(page), s,
                       format_bytes(top.working_set_bytes), format_bytes(from->working_set_bytes),
                       *from->speedup_vs_4k);
  const HugepageRow* best = *std::max_element(ladder.begin(), ladder.end(), [](const HugepageRow* a, const HugepageRow* b) {
    return *a->speedup_vs_4k < *b->speedup_vs_4k;
  });
  const std::string at_top = s < 1.0 - kSameWithin
                                 ? fmt::format("{:.2f}x slower than 4 KiB pages at {}, the largest set", 1.0 / s,
                                               format_bytes(top.working_set_bytes))
                                 : fmt::format("no faster than 4 KiB pages at {}, the largest set ({:.2f}x)",
                                               format_bytes(top.working_set_bytes), s);
  if (*best->speedup_vs_4k > 1.0 + kSameWithin)
    return fmt::format("{} {:.2f}x faster than 4 KiB pages at {} but {}", page_words(page), *best->speedup_vs_4k,
                       format_bytes(best->working_set_bytes), at_top);
  return fmt::format("{} {}", page_words(page), at_top);
}

}  // namespace

std::vector<std::string> hugepage_summary(const Results& results) {
  std::vector<std::string> sentences;
  const std::vector<HugepageRow> all_rows = hugepage_rows(results);
  for (const char* region : kRegionOrder) {
    std::vector<const HugepageRow*> rows;
    for (const HugepageRow& row : all_rows)
      if (row.region == region) rows.push_back(&row);
    if (rows.empty()) continue;
    double ws_min = INFINITY, ws_max = 0;
    std::map<std::string, std::vector<double>, decltype(&page_less)> speedups(&page_less);
    std::set<std::string> unverified;
    for (const HugepageRow* row : rows) {
      const std::string& page = row->page;
      const double ws = row->working_set_bytes;
      ws_min = std::min(ws_min, ws);
      ws_max = std::max(ws_max, ws);
      if (page == "4k") continue;
      speedups[page];  // present even when none is verified
      if (row->speedup_vs_4k) speedups[page].push_back(*row->speedup_vs_4k);
      else if (row->note == kNotHugeNote) unverified.insert(page);
    }
    const std::string sizes = ws_min == ws_max ? format_bytes(ws_min)
                                               : fmt::format("{}-{}", format_bytes(ws_min), format_bytes(ws_max));
    std::vector<std::string> parts;
    for (const auto& [page, values] : speedups) {
      if (std::string_view(region) == "dram" && !values.empty()) {
        parts.push_back(dram_ladder_words(rows, page));
        continue;
      }
      if (values.empty()) {
        parts.push_back(fmt::format("{} {}", page_words(page),
                                    unverified.count(page) ? kNotHugeNote : "not comparable (no verified 4 KiB baseline)"));
        continue;
      }
      double log_sum = 0;
      for (const double v : values) log_sum += std::log(v);
      const double s = std::exp(log_sum / static_cast<double>(values.size()));
      if (std::fabs(s - 1.0) <= kSameWithin) {
        parts.push_back(fmt::format("{} same as 4 KiB pages (within {:.0f} %)", page_words(page), kSameWithin * 100));
      } else if (s > 1.0) {
        parts.push_back(fmt::format("{} {:.2f}x faster than 4 KiB pages", page_words(page), s));
      } else {
        parts.push_back(fmt::format("{} {:.2f}x slower than 4 KiB pages", page_words(page), 1.0 / s));
      }
    }
    if (parts.empty()) parts.push_back("only 4 KiB pages measured");
    std::string sentence = fmt::format("{} random access ({}): ", region_words(region), sizes);
    for (std::size_t i = 0; i < parts.size(); ++i) sentence += (i ? "; " : "") + parts[i];
    sentences.push_back(sentence + ".");
  }
  return sentences;
}

namespace {

// A working set of the latency family's curve of `page` within a quarter
// octave of `bytes`: its ns per load (median over cases there).
std::optional<double> latency_curve_ns(const Results& results, const std::string& page, double bytes) {
  std::vector<double> values;
  for (const Case& c : results.cases) {
    if (c.family != "latency" || json_string(c.params, "page") != page) continue;
    const auto ws = param_number(c, "working_set_bytes");
    const auto ns = metric(c, "ns_per_load");
    if (ws && ns && std::fabs(std::log2(*ws / bytes)) <= 0.25 && backing_verified(c.backing)) values.push_back(*ns);
  }
  if (values.empty()) return std::nullopt;
  return median_of(values);
}

// The tlb table's L1 DTLB row of `page`, if it has a miss cost.
std::optional<TlbLevelRow> l1_dtlb_row(const Results& results, const std::string& page) {
  for (const TlbLevelRow& row : tlb_rows(results))
    if (row.level == "L1 DTLB" && row.page == page && row.miss_cost_cycles) return row;
  return std::nullopt;
}

// The repetition spread ((max - min) / median) of the hugepage case of `page`
// at `bytes`; 0 when unknown.
double case_spread(const Results& results, const std::string& page, double bytes) {
  for (const Case& c : results.cases)
    if (c.family == "hugepage" && json_string(c.params, "page") == page &&
        param_number(c, "working_set_bytes") == bytes && c.spread.repetitions >= 2)
      return spread_pct(c.spread) / 100;
  return 0;
}

// A speed-up below 1 beyond kSameWithin and beyond both cases' own
// repetition spreads: slower by more than the run's noise.
bool slower_beyond_noise(const Results& results, const HugepageRow& row) {
  if (!row.speedup_vs_4k) return false;
  const double noise = std::max({kSameWithin, case_spread(results, row.page, row.working_set_bytes),
                                 case_spread(results, "4k", row.working_set_bytes)});
  return *row.speedup_vs_4k < 1.0 - noise;
}

// "128 KiB (1.12x), 256 KiB (1.34x) and 2 MiB (1.14x)".
std::string slower_sets_text(const std::vector<const HugepageRow*>& rows) {
  std::string text;
  for (std::size_t i = 0; i < rows.size(); ++i)
    text += fmt::format("{}{} ({:.2f}x)", i == 0 ? "" : i + 1 == rows.size() ? " and " : ", ",
                        format_bytes(rows[i]->working_set_bytes), 1.0 / *rows[i]->speedup_vs_4k);
  return text;
}

// The measurements of this run that explain why `page` is slower than 4 KiB
// pages at `rows`' working sets; "nothing in this run explains it" if none.
std::string slower_evidence(const Results& results, const std::string& page,
                            const std::vector<const HugepageRow*>& rows, const std::map<double, double>& ns_4k) {
  std::vector<std::string> evidence;
  const auto huge_l1 = l1_dtlb_row(results, page), base_l1 = l1_dtlb_row(results, "4k");
  if (huge_l1 && base_l1 && *huge_l1->miss_cost_cycles > 2 * *base_l1->miss_cost_cycles) {
    std::string knee =
        huge_l1->detected_entries ? fmt::format(", its knee at {:.0f} pages", *huge_l1->detected_entries) : "";
    // The sets past that reach: every load there misses the L1 DTLB and walks.
    if (huge_l1->reach_bytes) {
      std::vector<std::string> past;
      for (const HugepageRow* row : rows)
        if (row->working_set_bytes > *huge_l1->reach_bytes) past.push_back(format_bytes(row->working_set_bytes));
      if (!past.empty()) {
        std::string sets;
        for (std::size_t i = 0; i < past.size(); ++i) sets += (i ? ", " : "") + past[i];
        knee += fmt::format(" ({} reach, which {} exceed{})", format_bytes(*huge_l1->reach_bytes), sets,
                            past.size() == 1 ? "s" : "");
      }
    }
    evidence.push_back(fmt::format(
        "the tlb table's {} L1 DTLB misses cost {:.0f} cycles vs {:.0f} on 4 KiB pages{}: they are walks, as when a "
        "host backs the guest's huge pages with small ones{}",
        page, *huge_l1->miss_cost_cycles, *base_l1->miss_cost_cycles, knee,
        results.machine.hypervisor ? " (this is a guest)" : ""));
  }
  // The same page size in another buffer (the latency family's chase; one
  // random cycle at these sizes, as here) no slower than this table's 4 KiB
  // pages: the cost belongs to this buffer's placement.
  std::vector<std::string> placed;
  for (const HugepageRow* row : rows) {
    const auto other = latency_curve_ns(results, page, row->working_set_bytes);
    const auto base = ns_4k.find(row->working_set_bytes);
    if (other && base != ns_4k.end() && *other <= base->second * (1 + kSameWithin))
      placed.push_back(fmt::format("{} ({} ns vs {} ns)", format_bytes(row->working_set_bytes), format_ns(*other),
                                   format_ns(base->second)));
  }
  if (!placed.empty()) {
    std::string sets;
    for (std::size_t i = 0; i < placed.size(); ++i) sets += (i ? ", " : "") + placed[i];
    evidence.push_back(fmt::format(
        "the latency family's {} chase in another buffer is no slower than 4 KiB pages at {}: there the cost is "
        "this buffer's physical placement, not the page size",
        page, sets));
  }
  if (evidence.empty()) return "nothing in this run explains it";
  std::string text;
  for (std::size_t i = 0; i < evidence.size(); ++i) text += (i ? "; and " : "") + evidence[i];
  return text;
}

}  // namespace

std::vector<std::string> hugepage_explanations(const Results& results) {
  std::vector<std::string> out;
  const std::vector<HugepageRow> rows = hugepage_rows(results);
  std::map<double, double> ns_4k;
  // The best speed-up of a 2 MiB policy per working set: what 1 GiB pages should beat.
  std::map<double, double> best_2m;
  std::map<std::string, std::vector<const HugepageRow*>, decltype(&page_less)> slower(&page_less);
  for (const HugepageRow& row : rows) {
    if (row.page == "4k" && row.backing_verified) ns_4k[row.working_set_bytes] = row.ns_per_load;
    if ((row.page == "thp" || row.page == "hugetlb-2m") && row.speedup_vs_4k)
      best_2m[row.working_set_bytes] = std::max(best_2m[row.working_set_bytes], *row.speedup_vs_4k);
    if (row.page != "4k" && slower_beyond_noise(results, row)) slower[row.page].push_back(&row);
  }
  for (const auto& [page, page_rows] : slower)
    out.push_back(fmt::format("{} is slower than 4 KiB pages at {}: {}.", page_words(page), slower_sets_text(page_rows),
                              slower_evidence(results, page, page_rows, ns_4k)));
  // The ladder's top is where huge pages should pay most (the 4 KiB page
  // tables furthest past the caches): a huge policy no faster there is
  // unexpected too.
  std::map<std::string, const HugepageRow*, decltype(&page_less)> top(&page_less);
  for (const HugepageRow& row : rows)
    if (row.page != "4k" && row.region == "dram" && row.speedup_vs_4k &&
        (!top.count(row.page) || top[row.page]->working_set_bytes < row.working_set_bytes))
      top[row.page] = &row;
  std::optional<double> dram_ns;
  for (const CacheLevelRow& level : results.derived.cache_levels)
    if (level.level == "DRAM") dram_ns = level.latency_ns;
  for (const auto& [page, row] : top) {
    const double s = *row->speedup_vs_4k;
    if (s > 1.0 + kSameWithin) continue;
    // Said already when the slower sentence names this set; one naming only
    // smaller sets (a TLB-region 2 MiB) leaves the top unexplained.
    if (const auto said = slower.find(page);
        said != slower.end() && std::find(said->second.begin(), said->second.end(), row) != said->second.end())
      continue;
    // Only where 4 KiB pages visibly pay for their walks (the TLB-local DRAM
    // latency well below their figure) is there a cost for huge pages to remove.
    const auto base = ns_4k.find(row->working_set_bytes);
    if (!dram_ns || base == ns_4k.end() || base->second < kWalksVisibleOverDram * *dram_ns) continue;
    out.push_back(fmt::format("{} is no faster than 4 KiB pages at {} ({:.2f}x), the ladder's largest set, where 4 KiB "
                              "pages cost {:.2f}x the TLB-local DRAM latency: {}.",
                              page_words(page), format_bytes(row->working_set_bytes), s, base->second / *dram_ns,
                              slower_evidence(results, page, {row}, ns_4k)));
  }
  for (const HugepageRow& row : rows) {
    if (row.page != "hugetlb-1g" || row.region != "dram" || !row.speedup_vs_4k || !best_2m.count(row.working_set_bytes))
      continue;
    const double s = *row.speedup_vs_4k, s_2m = best_2m[row.working_set_bytes];
    if (s < 1.0 - kSameWithin || s > s_2m * (1 + kSameWithin)) continue;  // slower: said above; faster: as expected
    const auto l1 = l1_dtlb_row(results, row.page);
    out.push_back(fmt::format(
        "1 GiB pages at {} are no faster than 2 MiB pages ({:.2f}x vs {:.2f}x over 4 KiB): {}.",
        format_bytes(row.working_set_bytes), s, s_2m,
        l1 ? fmt::format("the tlb table's hugetlb-1g L1 DTLB misses cost {:.0f} cycles: the 2 MiB entries already "
                         "cover this set, or the host splits the 1 GiB pages",
                         *l1->miss_cost_cycles)
           : std::string("nothing in this run explains it (no hugetlb-1g TLB sweep)")));
  }
  return out;
}

std::string render_hugepage_table(const Results& results, TableFormat format) {
  const auto unavailable = unavailable_pages(results, "hugepage");
  const std::vector<HugepageRow> hugepage = hugepage_rows(results);
  if (hugepage.empty() && unavailable.empty()) return "";

  std::set<std::string, decltype(&page_less)> pages(&page_less);
  std::map<double, std::map<std::string, const HugepageRow*>> grid;
  for (const HugepageRow& row : hugepage) {
    pages.insert(row.page);
    grid[row.working_set_bytes][row.page] = &row;
  }
  for (const auto& [page, reason] : unavailable) pages.insert(page);

  std::vector<Column> columns = {{"working set", true}, {"region", false}};
  for (const std::string& p : pages) columns.push_back({page_short(p) + " ns", true});
  for (const std::string& p : pages)
    if (p != "4k") columns.push_back({page_short(p) + "/4k", true});
  columns.push_back({"backing", false});

  std::vector<std::vector<std::string>> rows;
  for (const auto& [ws, by_page] : grid) {
    rows.push_back(hugepage_cells(ws, by_page, pages, unavailable));
  }

  std::string out =
      note_line("Huge pages: random-cycle chase, ns per load, speed-up = 4k ns / page ns (verified backing only)", format);
  if (!rows.empty()) out += render_table(columns, rows, format);
  for (const std::string& s : hugepage_summary(results)) out += note_line(s, format);
  for (const std::string& s : hugepage_explanations(results)) out += note_line(s, format);
  for (const auto& [page, reason] : unavailable)
    out += note_line(fmt::format("{}: unavailable: {}", page_short(page), reason), format);
  return out;
}

void derive_dram_translation(Results& results) {
  std::optional<double> dram_ns;
  for (const CacheLevelRow& row : results.derived.cache_levels)
    if (row.level == "DRAM") dram_ns = row.latency_ns;
  // The largest DRAM-region working set each page policy measured, among
  // those 4 KiB pages measured too where they did (a ladder rung the 4 KiB
  // buffer's first-touch budget skipped would put the policies side by side
  // at different sizes).
  const std::vector<HugepageRow> hugepage = hugepage_rows(results);
  std::set<double> sizes_4k;
  for (const HugepageRow& row : hugepage)
    if (row.region == "dram" && row.page == "4k") sizes_4k.insert(row.working_set_bytes);
  std::map<std::string, const HugepageRow*> largest;
  for (const HugepageRow& row : hugepage) {
    if (row.region != "dram") continue;
    const HugepageRow*& best = largest[row.page];
    // A set 4 KiB pages measured too beats one they did not; then the larger.
    auto rank = [&](const HugepageRow* r) {
      return std::make_pair(sizes_4k.count(r->working_set_bytes) > 0, r->working_set_bytes);
    };
    if (!best || rank(best) < rank(&row)) best = &row;
  }
  std::vector<DramTranslationRow> rows;
  for (const char* page : {"4k", "thp", "hugetlb-2m", "hugetlb-1g"}) {
    const auto it = largest.find(page);
    if (it == largest.end()) continue;
    const HugepageRow& h = *it->second;
    DramTranslationRow row{page, h.working_set_bytes, h.ns_per_load, std::nullopt, std::nullopt, h.backing_verified};
    if (dram_ns && *dram_ns > 0) row.vs_dram = h.ns_per_load / *dram_ns;
    if (results.machine.core_hz > 0) row.latency_cycles = h.ns_per_load * results.machine.core_hz / 1e9;
    rows.push_back(std::move(row));
  }
  store_rows(results, "dram_translation", rows, to_json);
}

std::vector<DramTranslationRow> dram_translation_rows(const Results& results) {
  return load_rows(results, "dram_translation", dram_translation_row_from_json);
}

// "4k 270 ns at 304 MiB (2.25x DRAM) | thp ...": the hugepage family's
// largest DRAM working set per page policy, next to the TLB-local DRAM row.
// Empty without one.
std::string dram_translation_text(const Results& results) {
  std::string parts;
  for (const DramTranslationRow& row : dram_translation_rows(results)) {
    std::string part = fmt::format("{} {} ns at {}", row.page.empty() ? "?" : row.page, format_ns(row.latency_ns),
                                   format_bytes(row.working_set_bytes));
    if (row.vs_dram) part += fmt::format(" ({:.2f}x DRAM)", *row.vs_dram);
    parts += (parts.empty() ? "" : " | ") + part;
  }
  return parts;
}

std::vector<Plot> hugepage_plots(const Results& results) {
  const std::vector<HugepageRow> rows = hugepage_rows(results);
  if (rows.empty()) return {};
  std::vector<std::string> pages;
  for (const HugepageRow& row : rows)
    if (!row.page.empty() && std::find(pages.begin(), pages.end(), row.page) == pages.end()) pages.push_back(row.page);
  std::string script;
  std::vector<std::string> blocks, titles;
  for (const std::string& page : pages) {
    blocks.push_back(block_name("hugepage", page));
    titles.push_back(page + " pages");
    script += blocks.back() + " << EOD\n";
    for (const HugepageRow& row : rows) {
      // Only verified backings are plotted: an unverified huge page is not a huge-page figure.
      if (row.page != page || !row.backing_verified) continue;
      script += fmt::format("{:.6g} {:.6g}\n", row.working_set_bytes / 1024.0, row.ns_per_load);
    }
    script += "EOD\n";
  }
  script += fmt::format("set title {} noenhanced\n",
                        gnuplot_quote("huge pages: random chase, verified backing only, " + plot_title_of(results)));
  script +=
      "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\nset xlabel 'working set (KiB)'\n"
      "set ylabel 'ns per load'\nset key top left\nset format x '%.0f'\n";
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.8");
  return {{"hugepage", with_outputs("hugepage", script),
           "huge-page ladder: ns per load against working set, per page kind (the speed-ups in the hugepage table "
           "are their ratios)"}};
}

FamilyDescriptor describe_hugepage() {
  // dram_translation is computed from hugepage rows and the DRAM row: its
  // figures carry no case spread of their own.
  return {.name = "hugepage", .run_rank = 4, .report_rank = 1,
          .tables = {{"hugepage", 3}, {"dram_translation", kCompareByName, false}},
          .headline_metrics = {"ns_per_load"}, .derive = derive_hugepage_family, .render = render_hugepage_table,
          .summary = hugepage_summary_lines, .plots = hugepage_plots};
}

}  // namespace memprobe::analysis
