// What the tlb and pagewalk families compare their page-spread chases with:
// the same number of lines packed densely in random order on a verified THP
// region (no TLB misses at these footprints), or, without THP, a page-group
// chain on 4 KiB pages. Same data footprint, same cache level, no walks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "benchmarks/timed_chase.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/result.h"
#include "core/units.h"

namespace memprobe::bench {

// The memory limits of one page-spread buffer (tlb and pagewalk). Huge pages
// need a whole page per touched line: at most this share of MemAvailable goes
// to one buffer...
inline constexpr double kSpreadMemAvailableShare = 0.5;
// ...and at most this much memory, because first touch is slow where it
// matters: a VM guest whose freed memory goes back to the host (free page
// reporting) faults it in again at ~1-2 ms per 2 MiB page, so a 4 GiB sweep
// spent ~10 s in the kernel before its first measurement. 1 GiB is 512 2 MiB
// pages: 7x a 64-72 entry L1 DTLB; the skipped entry says what was cut.
inline constexpr std::uint64_t kHugeSpreadBudgetBytes = 1 * core::kGiB;
inline constexpr std::uint64_t kQuickHugeSpreadBudgetBytes = 512 * core::kMiB;

// Two laps untimed: the lines come into the caches and the TLB into its
// steady state (every entry replaced, or every entry resident); capped at 2^20 loads.
void* warm_up_chain(const core::Chain& chain);

// The page-spread chain: one line per `spacing_bytes` (a page, or a wider
// spacing so each load needs its own page-table line) over a buffer of the
// policy, sized for the largest N that uses it and reused by consecutive cases;
// reallocated when the policy, spacing or size changes. A policy that could
// not be allocated at some size is not retried at that size or larger (its
// reason is returned again).
class PageSpreadArena {
 public:
  using Prepared = PreparedChain;

  core::Result<Prepared*> prepare(core::PagePolicy policy, std::size_t spacing_bytes, std::size_t buffer_bytes,
                                  std::size_t pages, std::size_t line_bytes, std::uint64_t seed);
  // Frees the buffer (a multi-GiB huge-page buffer must not outlive its sweep).
  void release();

 private:
  std::optional<core::Buffer> buffer_;
  core::PagePolicy policy_ = core::PagePolicy::k4K;
  std::size_t spacing_bytes_ = 0;
  std::optional<core::PagePolicy> failed_policy_;
  std::size_t failed_bytes_ = 0;
  std::optional<core::Unavailable> failure_;
  std::optional<Prepared> prepared_;
};

class ReferenceArena {
 public:
  struct Prepared : PreparedChain {
    std::string tlb_method;  // "huge-pages" or "page-groups-N"
  };

  // The reference chain over `lines` lines in a buffer of at least max_bytes
  // (kept and reused; rebuilt when `lines` changes).
  core::Result<Prepared*> prepare(std::size_t max_bytes, std::size_t lines, std::size_t line_bytes,
                                  std::size_t group_pages, std::uint64_t seed);

 private:
  std::optional<core::Buffer> buffer_;
  std::optional<Prepared> prepared_;
};

// A page-spread case's label: `fields` (role, ...) with page, pages,
// page_bytes, line_bytes, footprint_bytes (pages x line_bytes), the backing
// and the seed.
std::map<std::string, std::string> spread_label(const PageSpreadArena::Prepared& p, core::PagePolicy policy,
                                                std::size_t pages, std::size_t line_bytes,
                                                std::map<std::string, std::string> fields);
// A reference case's label: `fields` (role, ...) with the page it got, pages,
// line_bytes, footprint_bytes, the backing, tlb_method and the seed.
std::map<std::string, std::string> reference_label(const ReferenceArena::Prepared& p, std::size_t pages,
                                                   std::size_t line_bytes, std::map<std::string, std::string> fields);

}  // namespace memprobe::bench
