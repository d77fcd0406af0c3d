#include "analysis/families/hugepage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Within this ratio of 1 a speed-up is reported as "same".
constexpr double kSameWithin = 0.03;

constexpr const char* kRegionOrder[] = {"cache", "tlb", "dram"};

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

// "%" of a huge-page share, for the backing column.
std::string backing_text(const json& row) {
  const std::string verified = json_string(row, "backing");
  const auto fraction = json_number(row, "huge_fraction");
  if (verified == "mixed" && fraction) return fmt::format("mixed, {:.0f} % huge", *fraction * 100);
  return verified.empty() ? "unverified" : verified;
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
std::vector<std::string> hugepage_cells(double ws, const std::map<std::string, const json*>& by_page,
                                        const std::set<std::string, decltype(&page_less)>& pages,
                                        const std::map<std::string, std::string>& unavailable) {
  std::vector<std::string> cells = {format_bytes(ws)};
  std::string region;
  for (const auto& [page, row] : by_page)
    if (region.empty()) region = json_string(*row, "region");
  cells.push_back(region.empty() ? kMissing : region);
  for (const std::string& p : pages) {
    const auto found = by_page.find(p);
    if (found != by_page.end()) cells.push_back(format_ns(json_number(*found->second, "ns_per_load").value_or(0)));
    else cells.push_back(unavailable.count(p) ? "unavailable" : kMissing);
  }
  std::vector<std::string> not_huge;
  for (const std::string& p : pages) {
    if (p == "4k") continue;
    const auto found = by_page.find(p);
    std::optional<double> s;
    if (found != by_page.end()) {
      s = json_number(*found->second, "speedup_vs_4k");
      if (!json_number(*found->second, "speedup_vs_4k") && json_string(*found->second, "note") == kNotHugeNote)
        not_huge.push_back(fmt::format("{}: {} ({})", page_short(p), kNotHugeNote, backing_text(*found->second)));
    }
    cells.push_back(s ? format_times(*s) : std::string(kMissing));
  }
  if (const auto base = by_page.find("4k"); base != by_page.end() && !base->second->value("backing_verified", false))
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
  if (grid.empty()) {
    results.derived.extra.erase("hugepage");
    return;
  }
  json rows = json::array();
  for (const auto& [ws, pages] : grid) {
    const Case* base = pages.count("4k") ? pages.at("4k") : nullptr;
    const bool base_ok = base != nullptr && backing_verified(base->backing);
    for (const auto& [page, c] : pages) {
      const double ns = *metric(*c, "ns_per_load");
      const bool verified = backing_verified(c->backing);
      json row = {{"working_set_bytes", ws},
                  {"page", page},
                  {"region", json_string(c->params, "region")},
                  {"ns_per_load", ns},
                  {"backing_verified", verified},
                  {"backing", c->backing.verified},
                  {"huge_fraction", c->backing.huge_fraction},
                  {"speedup_vs_4k", nullptr}};
      if (const auto cycles = metric(*c, "cycles_per_load")) row["cycles_per_load"] = *cycles;
      if (!verified) {
        row["note"] = page == "4k" ? "4 KiB request not backed by 4 KiB pages" : kNotHugeNote;
      } else if (page == "4k") {
        row["speedup_vs_4k"] = 1.0;
      } else if (!base_ok) {
        row["note"] = base ? "4 KiB baseline not verified" : "no 4 KiB baseline at this working set";
      } else if (const auto s = speedup_vs_4k(*metric(*base, "ns_per_load"), ns)) {
        row["speedup_vs_4k"] = *s;
      }
      rows.push_back(std::move(row));
    }
  }
  results.derived.extra["hugepage"] = std::move(rows);
}

std::vector<std::string> hugepage_summary(const Results& results) {
  std::vector<std::string> sentences;
  const auto it = results.derived.extra.find("hugepage");
  if (it == results.derived.extra.end() || !it->is_array()) return sentences;
  for (const char* region : kRegionOrder) {
    std::vector<const json*> rows;
    for (const json& row : *it)
      if (json_string(row, "region") == region) rows.push_back(&row);
    if (rows.empty()) continue;
    double ws_min = INFINITY, ws_max = 0;
    std::map<std::string, std::vector<double>, decltype(&page_less)> speedups(&page_less);
    std::set<std::string> unverified;
    for (const json* row : rows) {
      const std::string page = json_string(*row, "page");
      const double ws = json_number(*row, "working_set_bytes").value_or(0);
      ws_min = std::min(ws_min, ws);
      ws_max = std::max(ws_max, ws);
      if (page == "4k") continue;
      speedups[page];  // present even when none is verified
      if (const auto s = json_number(*row, "speedup_vs_4k")) speedups[page].push_back(*s);
      else if (json_string(*row, "note") == kNotHugeNote) unverified.insert(page);
    }
    const std::string sizes = ws_min == ws_max ? format_bytes(ws_min)
                                               : fmt::format("{}-{}", format_bytes(ws_min), format_bytes(ws_max));
    std::vector<std::string> parts;
    for (const auto& [page, values] : speedups) {
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

std::string render_hugepage_table(const Results& results, TableFormat format) {
  const auto unavailable = unavailable_pages(results, "hugepage");
  const auto it = results.derived.extra.find("hugepage");
  const bool have_rows = it != results.derived.extra.end() && it->is_array() && !it->empty();
  if (!have_rows && unavailable.empty()) return "";

  std::set<std::string, decltype(&page_less)> pages(&page_less);
  std::map<double, std::map<std::string, const json*>> grid;
  if (have_rows) {
    for (const json& row : *it) {
      const std::string page = json_string(row, "page");
      pages.insert(page);
      grid[json_number(row, "working_set_bytes").value_or(0)][page] = &row;
    }
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
  for (const auto& [page, reason] : unavailable)
    out += note_line(fmt::format("{}: unavailable: {}", page_short(page), reason), format);
  return out;
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

// "DRAM + translation (random over the whole set): 4k 270 ns at 304 MiB
// (2.25x DRAM) | thp ...": the hugepage family's largest DRAM working set
// per page policy, next to the TLB-local DRAM row. Empty without one.
std::string dram_translation_text(const Results& results) {
  auto it = results.derived.extra.find("dram_translation");
  if (it == results.derived.extra.end() || !it->is_array() || it->empty()) return {};
  std::string parts;
  for (const nlohmann::json& row : *it) {
    if (!row.is_object() || !row.value("latency_ns", nlohmann::json()).is_number()) continue;
    std::string part = fmt::format("{} {} ns at {}", row.value("page", "?"), format_ns(row["latency_ns"].get<double>()),
                                   format_bytes(row.value("working_set_bytes", 0.0)));
    if (row.contains("vs_dram") && row["vs_dram"].is_number())
      part += fmt::format(" ({:.2f}x DRAM)", row["vs_dram"].get<double>());
    parts += (parts.empty() ? "" : " | ") + part;
  }
  return parts;
}


std::vector<Plot> hugepage_plots(const Results& results) {
  const auto rows = results.derived.extra.find("hugepage");
  if (rows == results.derived.extra.end() || !rows->is_array() || rows->empty()) return {};
  std::vector<std::string> pages;
  for (const auto& row : *rows) {
    const std::string page = row.value("page", std::string());
    if (!page.empty() && std::find(pages.begin(), pages.end(), page) == pages.end()) pages.push_back(page);
  }
  std::string script;
  std::vector<std::string> blocks, titles;
  for (const std::string& page : pages) {
    blocks.push_back(block_name("hugepage", page));
    titles.push_back(page + " pages");
    script += blocks.back() + " << EOD\n";
    for (const auto& row : *rows) {
      // Only verified backings are plotted: an unverified huge page is not a huge-page figure.
      if (row.value("page", std::string()) != page || !row.value("backing_verified", false)) continue;
      script += fmt::format("{:.6g} {:.6g}\n", row.value("working_set_bytes", 0.0) / 1024.0,
                            row.value("ns_per_load", 0.0));
    }
    script += "EOD\n";
  }
  script += fmt::format("set title {} noenhanced\n",
                        gnuplot_quote("huge pages: random chase, verified backing only, " + plot_title_of(results)));
  script +=
      "set logscale x 2\nset logscale y 10\nset grid xtics ytics mytics\nset xlabel 'working set (KiB)'\n"
      "set ylabel 'ns per load'\nset key top left\nset format x '%.0f'\n";
  script += plot_series(blocks, titles, "linespoints pt 7 ps 0.8");
  return {{"hugepage", with_outputs("hugepage", script)}};
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
