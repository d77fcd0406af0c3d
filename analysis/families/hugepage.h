// The hugepage family: the same random chase per page policy and working
// set, speed-ups over 4 KiB pages (only where the backing was verified
// huge), one generated sentence per region, and "DRAM + translation" next to
// the cache table's DRAM row.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/plots.h"
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

// One row of derived.hugepage: one page policy at one working set.
struct HugepageRow {
  double working_set_bytes = 0;
  std::string page;    // 4k, thp, hugetlb-2m, hugetlb-1g
  std::string region;  // cache, tlb, dram (params.region)
  double ns_per_load = 0;
  std::optional<double> cycles_per_load;  // written only when the case measured it
  bool backing_verified = false;
  std::string backing;                  // what the kernel gave (backing.verified)
  std::optional<double> huge_fraction;  // of the backing; absent only in a hand-written file
  std::optional<double> speedup_vs_4k;  // null unless both backings were verified
  std::string note;                     // why there is no speed-up; written only when set
};

// The rows of derived.hugepage.
std::vector<HugepageRow> hugepage_rows(const Results& results);

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

// One sentence per huge-page result that goes the unexpected way (a huge
// policy slower than 4 KiB pages beyond kSameWithin; 1 GiB pages at a
// DRAM-sized set no faster than the best 2 MiB policy there), naming the
// measurement of the run that explains it: the tlb table's L1 DTLB miss cost
// of that page size against 4 KiB pages' (huge-page misses that cost walks:
// pages split by a host), the latency family's chase of the same page size
// and set in another buffer (placement), or "nothing in this run explains
// it". Call after derive_tlb and derive_hugepage.
std::vector<std::string> hugepage_explanations(const Results& results);

// | working set | region | 4k ns | thp ns | 2m ns | 1g ns | thp/4k | 2m/4k | 1g/4k | backing |
// for the policies measured or reported unavailable, then the summary
// sentences and the unavailable reasons. Empty if there are no hugepage rows
// and nothing unavailable. Call derive_hugepage first.
std::string render_hugepage_table(const Results& results, TableFormat format = TableFormat::kText);

// One row of derived.dram_translation: one page policy's largest DRAM working set.
struct DramTranslationRow {
  std::string page;
  double working_set_bytes = 0;
  double latency_ns = 0;
  std::optional<double> latency_cycles;  // latency_ns * core_hz; absent without core_hz
  std::optional<double> vs_dram;         // latency_ns / the DRAM row's; absent without one
  bool backing_verified = false;
};

// The rows of derived.dram_translation.
std::vector<DramTranslationRow> dram_translation_rows(const Results& results);

// "DRAM + translation": the cost of random access over the largest DRAM
// working set the hugepage family measured, per page policy (a random cycle
// over the whole set, so every page-table level is in play: where huge pages
// show), next to the TLB-local DRAM row. Fills derived.extra
// ["dram_translation"] = [{page, working_set_bytes, latency_ns,
// latency_cycles, vs_dram, backing_verified}] from derived.extra["hugepage"]
// and cache_levels (call after both); removed when there is no such case.
void derive_dram_translation(Results& results);

// "4k 270 ns at 304 MiB (2.25x DRAM) | thp ...": derived.dram_translation
// as text; "" without it.
std::string dram_translation_text(const Results& results);

// Huge-page A/B: ns per load vs working set per page policy, verified
// backings only (derived.hugepage). Nothing without hugepage rows.
std::vector<Plot> hugepage_plots(const Results& results);

}  // namespace memprobe::analysis
