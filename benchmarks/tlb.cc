// TLB reach: a dependent chase over N pages touching one line per page (line
// offset rotated so the touched lines stay cache-resident), N swept densely
// around CPUID's DTLB sizes, per page policy; plus a same-footprint reference
// chain without TLB misses. Reports ns_per_load and cycles_per_load; the
// analysis takes the knees of (tlb - reference) as L1/L2 DTLB entries.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "benchmarks/sweep.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/tlb_reference.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/chase.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// The sweep starts here: fewer pages than any DTLB has entries.
constexpr std::uint64_t kMinPages = 8;
// 4 KiB sweeps go at least this far whatever CPUID says (64 MiB of buffer).
constexpr std::uint64_t kMin4kMaxPages = 16384;
// Without any CPUID figure, sweep as if the L2 DTLB had this many entries.
constexpr std::uint64_t kUnknownL2Entries = 2048;

struct TlbSetup : CaseSetup {
  std::size_t group_pages = 32;  // page-group size when the reference has no THP
};

// CPUID's data-TLB entries for one page size, innermost level first.
std::vector<std::uint64_t> reported_entries(const core::Machine& machine, std::uint64_t page_bytes) {
  std::vector<std::uint64_t> entries;
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.page_bytes == page_bytes && tlb.kind != "instruction" && tlb.entries)
      entries.push_back(*tlb.entries);
  return entries;
}

std::uint64_t largest_reported_entries(const core::Machine& machine) {
  std::uint64_t largest = 0;
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.kind != "instruction" && tlb.entries) largest = std::max<std::uint64_t>(largest, *tlb.entries);
  return largest ? largest : kUnknownL2Entries;
}

std::uint64_t first_sweep_pages(const core::Machine& machine, std::uint64_t page_bytes, bool quick) {
  // Past the largest reported TLB by 4x (2x when quick: huge pages cost a
  // page of memory per point), and for base pages at least kMin4kMaxPages;
  // the harness extends the base-page sweep where the curve asks for more.
  std::uint64_t wanted = (quick && page_bytes > core::base_page_bytes() ? 2 : 4) * largest_reported_entries(machine);
  if (page_bytes == core::base_page_bytes()) wanted = std::max(wanted, kMin4kMaxPages);
  return wanted;
}

// How many pages of this policy one sweep may use, and why not more.
struct PageCap {
  std::uint64_t pages = 0;
  std::string why;
};

PageCap page_cap(core::PagePolicy policy, std::uint64_t wanted_pages, bool quick) {
  const std::uint64_t page_bytes = core::requested_page_bytes(policy);
  PageCap cap{wanted_pages, ""};
  if (policy == core::PagePolicy::kHugetlb2M || policy == core::PagePolicy::kHugetlb1G) {
    // Pool pages are not part of MemAvailable: the pool is the only limit.
    const auto free_pages = core::hugetlb_free_pages(page_bytes);
    const auto total_pages = core::hugetlb_total_pages(page_bytes);
    const std::uint64_t free_count = free_pages.value_or(0);
    if (free_count < cap.pages) {
      cap.pages = free_count;
      cap.why = fmt::format(
          "{} needs one {} page per touched line and the pool has {} free of {} (reserve more with "
          "memprobe run --reserve-hugepages{} N)",
          core::cli_name(policy), core::format_bytes(page_bytes), free_count, total_pages.value_or(0),
          policy == core::PagePolicy::kHugetlb1G ? "-1g" : "");
    }
    return cap;
  }
  if (policy == core::PagePolicy::k4K) return cap;  // 64 MiB at most: no budget needed
  const std::uint64_t budget_bytes = quick ? kQuickHugeSpreadBudgetBytes : kHugeSpreadBudgetBytes;
  if (budget_bytes / page_bytes < cap.pages) {
    cap.pages = budget_bytes / page_bytes;
    cap.why = fmt::format(
        "{} needs one {} page per touched line and the sweep's memory budget is {} (first-touching "
        "more fresh memory would dominate the run, on a VM guest especially)",
        core::cli_name(policy), core::format_bytes(page_bytes), core::format_bytes(budget_bytes));
  }
  const auto available = core::mem_available_bytes();
  if (!available) return cap;
  const auto share_bytes = static_cast<std::uint64_t>(static_cast<double>(*available) * kSpreadMemAvailableShare);
  if (share_bytes / page_bytes < cap.pages) {
    cap.pages = share_bytes / page_bytes;
    cap.why = fmt::format("{} needs one {} page per touched line; half of MemAvailable ({}) holds {} pages",
                          core::cli_name(policy), core::format_bytes(page_bytes),
                          core::format_bytes(*available), cap.pages);
  }
  return cap;
}

// The family's buffers, as long-lived as its registered cases. One buffer for
// the page-spread chains, sized for the policy's largest N and reused by all
// of that policy's cases (they run consecutively); released when the
// reference cases start, so a multi-GiB huge-page buffer is never held while
// something else allocates.
struct TlbArenas {
  PageSpreadArena spread;
  ReferenceArena reference;
};

void tlb_case(benchmark::State& state, TlbArenas& arenas, core::PagePolicy policy, std::size_t arena_pages,
              std::size_t pages, const TlbSetup& setup) {
  const std::size_t page_bytes = core::requested_page_bytes(policy);
  const PageSpreadArena::Prepared* p = chase_prepared(
      state, arenas.spread.prepare(policy, page_bytes, arena_pages * page_bytes, pages, setup.line_bytes, setup.seed),
      setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(spread_label(*p, policy, pages, setup.line_bytes, {{"role", "tlb"}})));
}

void reference_case(benchmark::State& state, TlbArenas& arenas, std::size_t max_bytes, std::size_t pages,
                    const TlbSetup& setup) {
  arenas.spread.release();  // the page-spread sweeps are done: give their memory back
  const ReferenceArena::Prepared* p = chase_prepared(
      state, arenas.reference.prepare(max_bytes, pages, setup.line_bytes, setup.group_pages, setup.seed),
      setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(reference_label(*p, pages, setup.line_bytes, {{"role", "reference"}})));
}

std::size_t register_tlb(const core::Machine& machine, const CaseOptions& options) {
  TlbSetup setup{case_setup(machine, options)};
  setup.group_pages = page_group_pages(machine);

  const int points_per_octave = options.quick ? 2 : 4;
  auto arenas = std::make_shared<TlbArenas>();
  CaseRegistrar cases(options, benchmark::kMicrosecond);
  std::uint64_t reference_max_pages = 0;
  std::vector<std::uint64_t> reference_pages;

  // Huge policies first and 4 KiB last: the family ends holding the small buffer.
  std::vector<core::PagePolicy> policies = options.policies;
  std::stable_sort(policies.begin(), policies.end(), [](core::PagePolicy a, core::PagePolicy b) {
    return core::requested_page_bytes(a) > core::requested_page_bytes(b);
  });
  const bool extension = options.tlb_pages_up_to > 0;
  for (const core::PagePolicy policy : policies) {
    const std::uint64_t page_bytes = core::requested_page_bytes(policy);
    if (extension && page_bytes != core::base_page_bytes()) continue;
    std::vector<std::uint64_t> anchors = reported_entries(machine, page_bytes);
    const std::uint64_t wanted = extension ? options.tlb_pages_up_to : first_sweep_pages(machine, page_bytes, options.quick);
    const PageCap cap = page_cap(policy, wanted, options.quick);
    std::vector<std::uint64_t> pages = log_sweep(kMinPages, wanted, points_per_octave, anchors, 1);
    // CPUID's figures themselves, so a knee exactly there is on the grid.
    for (const std::uint64_t a : anchors)
      if (a >= kMinPages && a <= wanted) pages.push_back(a);
    std::sort(pages.begin(), pages.end());
    pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
    std::erase_if(pages, [&](std::uint64_t n) { return n > cap.pages || n <= options.tlb_pages_above; });

    const std::string page_name(core::cli_name(policy));
    if (!pages.empty()) {
      const std::size_t arena_pages = pages.back();
      for (const std::uint64_t n : pages) {
        cases.add(fmt::format("tlb/{}/pages:{}", page_name, n),
                  [arenas, policy, arena_pages, n, setup](benchmark::State& state) {
                    tlb_case(state, *arenas, policy, arena_pages, n, setup);
                  });
        reference_pages.push_back(n);
        reference_max_pages = std::max(reference_max_pages, n);
      }
    }
    if (!cap.why.empty() && !extension) {
      const std::string reason = fmt::format("sweep cut at {} pages (wanted {}): {}", pages.empty() ? 0 : pages.back(),
                                             wanted, cap.why);
      cases.skip(fmt::format("tlb/{}/skipped", page_name), reason);
    }
  }

  // One reference per distinct N, after every page-spread case.
  std::sort(reference_pages.begin(), reference_pages.end());
  reference_pages.erase(std::unique(reference_pages.begin(), reference_pages.end()), reference_pages.end());
  const std::size_t reference_bytes = reference_max_pages * setup.line_bytes;
  for (const std::uint64_t n : reference_pages)
    cases.add(fmt::format("tlb/reference/pages:{}", n), [arenas, reference_bytes, n, setup](benchmark::State& state) {
      reference_case(state, *arenas, reference_bytes, n, setup);
    });
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(tlb, "chase over N pages, one line per page: L1/L2 DTLB entries and reach per page size",
                register_tlb);

}  // namespace memprobe::bench
