// The pagefault family: the cost of a first-touch fault per kind (anonymous
// 4 KiB, THP, hugetlb, file) and phase, with the fault counts checked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// One row of derived.pagefault: one kind of mapping in one phase.
struct PagefaultRow {
  std::string kind;   // anon-4k, anon-thp, hugetlb-2m, hugetlb-1g, file-major
  std::string phase;  // cold, warm, populate, evicted
  std::string page;
  double bytes = 0, pages = 0;
  std::optional<double> us_per_fault, us_per_page, gb_per_s, faults_counted, faults_expected;
  std::optional<bool> counts_match;  // none when nothing was counted
  std::string backing;               // "" when not recorded
};

std::vector<PagefaultRow> pagefault_rows(const Results& results);

// Fills results.derived.extra["pagefault"] (files before the rename: page_fault) from the "pagefault" family's
// cases: {kind, phase, page, bytes, pages, us_per_fault, us_per_page,
// gb_per_s, faults_counted, faults_expected, counts_match, backing}.
// counts_match: within 2 % (at least 2 faults) of expected for 4 KiB pages and
// files, within 1 for huge pages; null when nothing was counted. No pagefault
// cases: the member is removed. Idempotent.
void derive_pagefault(Results& results);

// | kind | phase | size | us/fault | us/page | GB/s | faults counted | expected | backing |
// plus a row per unavailable kind, with the reasons below. Call
// derive_pagefault first.
std::string render_pagefault_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
