// Huge-page A/B and page-fault figures from a results value: speed-ups of
// each page policy over 4 KiB pages per working set (only where the backing
// was verified huge), the page-fault table, and their text renderings with
// one generated sentence per region. Pure: synthetic results test it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// The note an unverified huge-page case carries; it is excluded from speed-ups.
inline constexpr const char* kNotHugeNote = "not backed by huge pages";

// ns(4k) / ns(page) for one working set: >1 means the page policy is faster.
// nullopt unless both are positive.
std::optional<double> speedup_vs_4k(double ns_4k, double ns_page);

// True if a case's backing is the one it asked for (verified == requested,
// so a THP case that was only partly huge, "mixed", is not).
bool backing_verified(const BackingInfo& backing);

// Fills results.derived.extra["hugepage"] from the "hugepage" family's cases:
// one row per (working set, page) {working_set_bytes, page, region,
// ns_per_load, speedup_vs_4k, backing_verified, backing} in working-set then
// page order. speedup_vs_4k is null (and note = kNotHugeNote) unless both this
// case and the 4k case at the same working set were verified; 4k rows have 1.
// No hugepage cases: the member is removed. Idempotent.
void derive_hugepage(Results& results);

// One sentence per region ("cache", "tlb", "dram", in that order) present in
// derived.extra["hugepage"]: the geometric-mean speed-up of each verified huge
// policy over 4 KiB pages across the region's working sets, e.g.
// "DRAM-sized random access (64 MiB-512 MiB): 2 MiB pages 1.6x faster than
// 4 KiB pages." Within 3 % it says "same as 4 KiB pages (within 3 %)"; a
// region without a verified huge case says so. Call derive_hugepage first.
std::vector<std::string> hugepage_summary(const Results& results);

// Fills results.derived.extra["page_fault"] from the "pagefault" family's
// cases: {kind, phase, page, bytes, pages, us_per_fault, us_per_page,
// gb_per_s, faults_counted, faults_expected, counts_match, backing}.
// counts_match: within 2 % (at least 2 faults) of expected for 4 KiB pages and
// files, within 1 for huge pages; null when nothing was counted. No pagefault
// cases: the member is removed. Idempotent.
void derive_page_fault(Results& results);

// | working set | region | 4k ns | thp ns | 2m ns | 1g ns | thp/4k | 2m/4k | 1g/4k | backing |
// for the policies measured or reported unavailable, then the summary
// sentences and the unavailable reasons. Empty if there are no hugepage rows
// and nothing unavailable. Call derive_hugepage first.
std::string render_hugepage_table(const Results& results, TableFormat format = TableFormat::kText);

// | kind | phase | size | us/fault | us/page | GB/s | faults counted | expected | backing |
// plus a row per unavailable kind, with the reasons below. Call
// derive_page_fault first.
std::string render_page_fault_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
