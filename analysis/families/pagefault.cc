#include "analysis/families/pagefault.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <set>
#include <vector>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {
namespace {

using nlohmann::json;

std::string format_us(double us) {
  if (us < 10) return fmt::format("{:.2f}", us);
  if (us < 100) return fmt::format("{:.1f}", us);
  return fmt::format("{:.0f}", us);
}

std::string format_count(double n) {
  return n == std::floor(n) ? fmt::format("{:.0f}", n) : fmt::format("{:.1f}", n);
}

// The measured figures of a row: metrics of the case, null where it has none.
constexpr std::pair<const char*, std::optional<double> PagefaultRow::*> kFigures[] = {
    {"us_per_fault", &PagefaultRow::us_per_fault},     {"us_per_page", &PagefaultRow::us_per_page},
    {"gb_per_s", &PagefaultRow::gb_per_s},             {"faults_counted", &PagefaultRow::faults_counted},
    {"faults_expected", &PagefaultRow::faults_expected}};

json to_json(const PagefaultRow& r) {
  json row = {{"kind", r.kind},   {"phase", r.phase}, {"page", r.page}, {"bytes", r.bytes}, {"pages", r.pages},
              {"counts_match", r.counts_match ? json(*r.counts_match) : json(nullptr)}};
  for (const auto& [key, member] : kFigures) row[key] = json_opt(r.*member);
  if (!r.backing.empty()) row["backing"] = r.backing;
  return row;
}

// The row's identity (kind, phase, page, size) from `text` and `number` lookups.
template <typename Text, typename Number>
PagefaultRow row_from(Text text, Number number) {
  PagefaultRow r;
  r.kind = text("kind");
  r.phase = text("phase");
  r.page = text("page");
  r.bytes = number("bytes").value_or(0);
  r.pages = number("pages").value_or(0);
  return r;
}

PagefaultRow pagefault_row_from_json(const json& row) {
  PagefaultRow r = row_from([&](const char* key) { return json_string(row, key); },
                            [&](const char* key) { return json_number(row, key); });
  for (const auto& [key, member] : kFigures) r.*member = json_number(row, key);
  if (const auto match = row.find("counts_match"); match != row.end() && match->is_boolean())
    r.counts_match = match->get<bool>();
  r.backing = json_string(row, "backing");
  return r;
}

// A case's row; counts_match: within 2 % (at least 2 faults) of expected for
// 4 KiB pages and files, within 1 for huge pages.
PagefaultRow pagefault_row(const Case& c) {
  PagefaultRow r = row_from([&](const char* key) { return json_string(c.params, key); },
                            [&](const char* key) { return param_number(c, key); });
  for (const auto& [key, member] : kFigures) r.*member = metric(c, key);
  if (r.faults_counted && r.faults_expected) {
    const bool huge = r.kind == "anon-thp" || r.kind == "hugetlb-2m" || r.kind == "hugetlb-1g";
    const double tolerance = huge ? 1.0 : std::max(2.0, 0.02 * *r.faults_expected);
    r.counts_match = std::fabs(*r.faults_counted - *r.faults_expected) <= tolerance;
  }
  r.backing = c.backing.verified;
  return r;
}

// "page fault: anon-4k 0.25 us, ... per fault (warm)".
std::vector<SummaryLine> pagefault_summary(const Results& results) {
  std::string text;
  for (const PagefaultRow& row : pagefault_rows(results)) {
    if (row.phase != "warm" || !row.us_per_fault) continue;
    const double value = *row.us_per_fault;
    text += fmt::format("{}{} {} us", text.empty() ? "" : ", ", row.kind,
                        value >= 100 ? fmt::format("{:.0f}", value) : fmt::format("{:.3g}", value));
  }
  if (text.empty()) return {};
  return {{40, "page fault", text + " per fault (warm)"}};  // the summary's last line
}

}  // namespace

void derive_pagefault(Results& results) {
  static const std::vector<std::string> kKinds = {"anon-4k", "anon-thp", "hugetlb-2m", "hugetlb-1g", "file-major"};
  static const std::vector<std::string> kPhases = {"cold", "warm", "populate", "evicted"};
  auto rank = [](const std::vector<std::string>& order, const std::string& v) {
    return static_cast<std::size_t>(std::find(order.begin(), order.end(), v) - order.begin());
  };
  std::vector<const Case*> cases;
  for (const Case& c : results.cases)
    if (c.family == "pagefault" && !json_string(c.params, "kind").empty()) cases.push_back(&c);
  std::stable_sort(cases.begin(), cases.end(), [&](const Case* a, const Case* b) {
    const auto ka = rank(kKinds, json_string(a->params, "kind")), kb = rank(kKinds, json_string(b->params, "kind"));
    if (ka != kb) return ka < kb;
    return rank(kPhases, json_string(a->params, "phase")) < rank(kPhases, json_string(b->params, "phase"));
  });
  std::vector<PagefaultRow> rows;
  for (const Case* c : cases) rows.push_back(pagefault_row(*c));
  store_rows(results, "pagefault", rows, to_json);
}

std::vector<PagefaultRow> pagefault_rows(const Results& results) {
  return load_rows(results, "pagefault", pagefault_row_from_json);
}

std::string render_pagefault_table(const Results& results, TableFormat format) {
  const auto unavailable = unavailable_pages(results, "pagefault");
  const std::vector<PagefaultRow> faults = pagefault_rows(results);
  if (faults.empty() && unavailable.empty()) return "";

  const std::vector<Column> columns = {{"kind", false},    {"phase", false},          {"size", true},
                                       {"us/fault", true}, {"us/page", true},         {"GB/s", true},
                                       {"faults counted", true}, {"expected", true},  {"counts", false},
                                       {"backing", false}};
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> phases;
  for (const PagefaultRow& row : faults) {
    const auto num = [](const std::optional<double>& v, std::string (*format)(double)) {
      return v ? format(*v) : std::string(kMissing);
    };
    std::string counts = kMissing;
    if (row.counts_match) counts = *row.counts_match ? "match" : "MISMATCH";
    phases.insert(row.phase);
    rows.push_back({row.kind, row.phase, format_bytes(row.bytes), num(row.us_per_fault, &format_us),
                    num(row.us_per_page, &format_us),
                    num(row.gb_per_s, [](double v) { return fmt::format("{:.2f}", v); }),
                    num(row.faults_counted, &format_count), num(row.faults_expected, &format_count), counts,
                    row.backing.empty() ? std::string(kMissing) : row.backing});
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


namespace {

// memprobe fleet: the cold anonymous 4 KiB page-fault cost.
std::optional<double> cold_anon_4k_us_per_fault(const Results& r) {
  const auto rows = r.derived.extra.find("pagefault");
  if (rows != r.derived.extra.end() && rows->is_array())
    for (const nlohmann::json& row : *rows)
      if (row.is_object() && json_string(row, "kind") == "anon-4k" && json_string(row, "phase") == "cold")
        return json_number(row, "us_per_fault");
  return std::nullopt;
}

}  // namespace

FamilyDescriptor describe_pagefault() {
  // Run last: it releases the shared chase buffer and maps fresh memory itself.
  return {.name = "pagefault", .run_rank = 8, .report_rank = 2, .tables = {{"pagefault", 4, true, "page_fault"}},
          .headline_metrics = {"us_per_fault", "us_per_page", "gb_per_s"}, .derive = derive_pagefault,
          .render = render_pagefault_table, .summary = pagefault_summary, .plots = nullptr,
          .fleet_columns = {{"fault us", "us_per_fault", false, cold_anon_4k_us_per_fault}}};
}

}  // namespace memprobe::analysis
