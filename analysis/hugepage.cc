#include "analysis/hugepage.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Within this ratio of 1 a speed-up is reported as "same".
constexpr double kSameWithin = 0.03;

constexpr const char* kPageOrder[] = {"4k", "thp", "hugetlb-2m", "hugetlb-1g"};
constexpr const char* kRegionOrder[] = {"cache", "tlb", "dram"};

int page_rank(const std::string& page) {
  for (int i = 0; i < 4; ++i)
    if (page == kPageOrder[i]) return i;
  return 4;
}

bool page_less(const std::string& a, const std::string& b) {
  const int ra = page_rank(a), rb = page_rank(b);
  return ra != rb ? ra < rb : a < b;
}

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

std::string param_string(const Case& c, const char* key) {
  const auto it = c.params.find(key);
  return it != c.params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string format_speedup(double s) { return fmt::format("{:.2f}x", s); }

// "%" of a huge-page share, for the backing column.
std::string backing_text(const json& row) {
  const std::string verified = json_string(row, "backing");
  const auto fraction = json_number(row, "huge_fraction");
  if (verified == "mixed" && fraction) return fmt::format("mixed, {:.0f} % huge", *fraction * 100);
  return verified.empty() ? "unverified" : verified;
}

// The page count a short-pool reason asks for ("... (need 128, free 0): ..."), 0 if none.
std::uint64_t pages_needed(const std::string& reason) {
  const auto at = reason.find("(need ");
  if (at == std::string::npos) return 0;
  std::uint64_t need = 0;
  for (std::size_t i = at + 6; i < reason.size() && reason[i] >= '0' && reason[i] <= '9' && need < (1ULL << 40); ++i)
    need = need * 10 + static_cast<std::uint64_t>(reason[i] - '0');
  return need;
}

// The "unavailable" entries of `family`: page (second name part) -> reason.
// Of a page's several reasons the one asking for the most pages is kept: the
// fix line under the table must reserve enough for every case (128, not 1).
std::map<std::string, std::string> unavailable_pages(const Results& results, const std::string& family) {
  std::map<std::string, std::string> out;
  const std::string prefix = family + "/";
  for (const UnavailableFigure& u : results.unavailable) {
    if (u.what.rfind(prefix, 0) != 0) continue;
    std::string page = u.what.substr(prefix.size());
    page = page.substr(0, page.find('/'));
    const auto [it, inserted] = out.emplace(page, u.reason);
    if (!inserted && pages_needed(u.reason) > pages_needed(it->second)) it->second = u.reason;
  }
  return out;
}

std::string format_us(double us) {
  if (us < 10) return fmt::format("{:.2f}", us);
  if (us < 100) return fmt::format("{:.1f}", us);
  return fmt::format("{:.0f}", us);
}

std::string format_count(double n) {
  return n == std::floor(n) ? fmt::format("{:.0f}", n) : fmt::format("{:.1f}", n);
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
    const std::string page = param_string(c, "page");
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
                  {"region", param_string(*c, "region")},
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

void derive_page_fault(Results& results) {
  static const std::vector<std::string> kKinds = {"anon-4k", "anon-thp", "hugetlb-2m", "hugetlb-1g", "file-major"};
  static const std::vector<std::string> kPhases = {"cold", "warm", "populate", "evicted"};
  auto rank = [](const std::vector<std::string>& order, const std::string& v) {
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), v) - order.begin());
  };
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "pagefault" && !param_string(c, "kind").empty()) cases.push_back(&c);
  if (cases.empty()) {
    results.derived.extra.erase("page_fault");
    return;
  }
  std::stable_sort(cases.begin(), cases.end(), [&](const Case* a, const Case* b) {
    const auto ka = rank(kKinds, param_string(*a, "kind")), kb = rank(kKinds, param_string(*b, "kind"));
    if (ka != kb) return ka < kb;
    return rank(kPhases, param_string(*a, "phase")) < rank(kPhases, param_string(*b, "phase"));
  });
  json rows = json::array();
  for (const Case* c : cases) {
    const std::string kind = param_string(*c, "kind");
    json row = {{"kind", kind},
                {"phase", param_string(*c, "phase")},
                {"page", param_string(*c, "page")},
                {"bytes", param_number(*c, "bytes").value_or(0)},
                {"pages", param_number(*c, "pages").value_or(0)}};
    for (const char* key : {"us_per_fault", "us_per_page", "gb_per_s", "faults_counted", "faults_expected"}) {
      const auto v = metric(*c, key);
      row[key] = v ? json(*v) : json(nullptr);
    }
    const auto counted = metric(*c, "faults_counted");
    const auto expected = metric(*c, "faults_expected");
    if (counted && expected) {
      const bool huge = kind == "anon-thp" || kind == "hugetlb-2m" || kind == "hugetlb-1g";
      const double tolerance = huge ? 1.0 : std::max(2.0, 0.02 * *expected);
      row["counts_match"] = std::fabs(*counted - *expected) <= tolerance;
    } else {
      row["counts_match"] = nullptr;
    }
    if (!c->backing.verified.empty()) row["backing"] = c->backing.verified;
    rows.push_back(std::move(row));
  }
  results.derived.extra["page_fault"] = std::move(rows);
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
      cells.push_back(s ? format_speedup(*s) : std::string(kMissing));
    }
    if (const auto base = by_page.find("4k"); base != by_page.end() && !base->second->value("backing_verified", false))
      not_huge.insert(not_huge.begin(), fmt::format("4k: {}", backing_text(*base->second)));
    std::string backing = "verified";
    if (!not_huge.empty()) {
      backing.clear();
      for (std::size_t i = 0; i < not_huge.size(); ++i) backing += (i ? "; " : "") + not_huge[i];
    }
    cells.push_back(backing);
    rows.push_back(std::move(cells));
  }

  std::string out =
      note_line("Huge pages: random-cycle chase, ns per load, speed-up = 4k ns / page ns (verified backing only)", format);
  if (!rows.empty()) out += render_table(columns, rows, format);
  for (const std::string& s : hugepage_summary(results)) out += note_line(s, format);
  for (const auto& [page, reason] : unavailable)
    out += note_line(fmt::format("{}: unavailable: {}", page_short(page), reason), format);
  return out;
}

std::string render_page_fault_table(const Results& results, TableFormat format) {
  const auto unavailable = unavailable_pages(results, "pagefault");
  const auto it = results.derived.extra.find("page_fault");
  const bool have_rows = it != results.derived.extra.end() && it->is_array() && !it->empty();
  if (!have_rows && unavailable.empty()) return "";

  const std::vector<Column> columns = {{"kind", false},    {"phase", false},          {"size", true},
                                       {"us/fault", true}, {"us/page", true},         {"GB/s", true},
                                       {"faults counted", true}, {"expected", true},  {"counts", false},
                                       {"backing", false}};
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> phases;
  if (have_rows) {
    for (const json& row : *it) {
      const auto num = [&](const char* key, std::string (*format)(double)) {
        const auto v = json_number(row, key);
        return v ? format(*v) : std::string(kMissing);
      };
      const auto match = row.find("counts_match");
      std::string counts = kMissing;
      if (match != row.end() && match->is_boolean()) counts = match->get<bool>() ? "match" : "MISMATCH";
      phases.insert(json_string(row, "phase"));
      rows.push_back({json_string(row, "kind"), json_string(row, "phase"),
                      format_bytes(json_number(row, "bytes").value_or(0)), num("us_per_fault", &format_us),
                      num("us_per_page", &format_us),
                      num("gb_per_s", [](double v) { return fmt::format("{:.2f}", v); }),
                      num("faults_counted", &format_count), num("faults_expected", &format_count), counts,
                      json_string(row, "backing").empty() ? std::string(kMissing) : json_string(row, "backing")});
    }
  }
  auto kind_of = [](const std::string& page) -> std::string {
    if (page == "4k") return "anon-4k";
    if (page == "thp") return "anon-thp";
    if (page == "file") return "file-major";
    return page;
  };
  for (const auto& [page, reason] : unavailable)
    rows.push_back({kind_of(page), kMissing, kMissing, "unavailable", kMissing, kMissing, kMissing, kMissing, kMissing,
                    kMissing});

  std::string out = note_line(
      "Page faults: first touch (one write per page; file: one read per page), fresh mapping per repetition", format);
  out += render_table(columns, rows, format);
  if (phases.count("cold"))
    out += note_line("cold: this process's first touch of the size (on a VM it can also fault in the host); warm: "
                     "touched and freed before.",
                     format);
  if (phases.count("populate"))
    out += note_line("populate: MADV_POPULATE_WRITE, the same kernel work without the trap; the counter counts "
                     "traps, so 0 is expected.",
                     format);
  for (const auto& [page, reason] : unavailable)
    out += note_line(fmt::format("{}: unavailable: {}", kind_of(page), reason), format);
  return out;
}

}  // namespace memprobe::analysis
