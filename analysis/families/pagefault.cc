#include "analysis/families/pagefault.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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

// "page fault: anon-4k 0.25 us, ... per fault (warm)".
std::vector<SummaryLine> pagefault_summary(const Results& results) {
  const json* faults = derived_rows(results, "pagefault");
  if (!faults) return {};
  std::string text;
  for (const auto& row : *faults) {
    const auto us = row.find("us_per_fault");
    if (row.value("phase", std::string()) != "warm" || us == row.end() || !us->is_number()) continue;
    const double value = us->get<double>();
    text += fmt::format("{}{} {} us", text.empty() ? "" : ", ", row.value("kind", std::string()),
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
  if (cases.empty()) {
    results.derived.extra.erase("pagefault");
    return;
  }
  std::stable_sort(cases.begin(), cases.end(), [&](const Case* a, const Case* b) {
    const auto ka = rank(kKinds, json_string(a->params, "kind")), kb = rank(kKinds, json_string(b->params, "kind"));
    if (ka != kb) return ka < kb;
    return rank(kPhases, json_string(a->params, "phase")) < rank(kPhases, json_string(b->params, "phase"));
  });
  json rows = json::array();
  for (const Case* c : cases) {
    const std::string kind = json_string(c->params, "kind");
    json row = {{"kind", kind},
                {"phase", json_string(c->params, "phase")},
                {"page", json_string(c->params, "page")},
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
  results.derived.extra["pagefault"] = std::move(rows);
}

std::string render_pagefault_table(const Results& results, TableFormat format) {
  const auto unavailable = unavailable_pages(results, "pagefault");
  const auto it = results.derived.extra.find("pagefault");
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


FamilyDescriptor describe_pagefault() {
  // Run last: it releases the shared chase buffer and maps fresh memory itself.
  return {.name = "pagefault", .run_rank = 8, .report_rank = 2, .tables = {{"pagefault", 4, true, "page_fault"}},
          .headline_metrics = {"us_per_fault", "us_per_page", "gb_per_s"}, .derive = derive_pagefault,
          .render = render_pagefault_table, .summary = pagefault_summary, .plots = nullptr};
}

}  // namespace memprobe::analysis
