// Page-walk cost: the tlb family's page-spread chase at two page counts, one
// past the L2 DTLB (every load walks) and one between the L1 and L2 DTLB
// sizes (every load hits the L2 DTLB), each next to a same-footprint reference
// without TLB misses; on 4 KiB pages also a walk with the pages spaced so every
// load needs its own page-table-entry line (cold PTEs). The analysis subtracts.
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

// Without CPUID figures: walk at this many pages, L2-hit between these.
constexpr std::uint64_t kUnknownWalkPages = 8192;
constexpr std::uint64_t kUnknownL1Entries = 64;
// Past the L2 DTLB by this factor: every load of the lap misses it.
constexpr std::uint64_t kWalkFactor = 4;
// A page-table entry is 8 bytes: a line holds line_bytes / 8 of them, so
// spacing the touched pages that many pages apart gives each its own PTE line.
constexpr std::size_t kPteBytes = 8;

struct WalkSetup : CaseSetup {
  std::size_t group_pages = 32;
  bool nested_paging = false;  // a hypervisor was detected: walks are 2D
};

std::optional<std::uint64_t> reported(const core::Machine& machine, int level, std::uint64_t page_bytes) {
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.level == level && tlb.page_bytes == page_bytes && tlb.kind != "instruction" && tlb.entries)
      return *tlb.entries;
  return std::nullopt;
}

// DTLB entries to size the walk from: what the tlb family detected in this
// run (4 KiB pages), else CPUID's figure (whose 12-bit fields overflow on
// 2048+ entry L2 TLBs), and where it came from, for the label.
struct SizingEntries {
  std::optional<std::uint64_t> entries;
  std::string source;  // "measured", "cpuid" or "default"
};
SizingEntries sizing_entries(const core::Machine& machine, const CaseOptions& options, int level,
                             std::uint64_t page_bytes) {
  const std::uint64_t measured =
      level == 1 ? options.measured.l1_dtlb_entries_4k : options.measured.l2_dtlb_entries_4k;
  if (page_bytes == 4 * core::kKiB && measured > 0) return {measured, "measured"};
  if (const auto r = reported(machine, level, page_bytes)) return {r, "cpuid"};
  return {std::nullopt, "default"};
}

// Bytes one buffer of this policy may take, and why not more ("" = no limit hit).
struct MemoryCap {
  std::uint64_t bytes = 0;
  std::string why;
};

MemoryCap memory_cap(core::PagePolicy policy, bool quick) {
  const std::uint64_t page_bytes = core::requested_page_bytes(policy);
  MemoryCap cap{~std::uint64_t{0}, ""};
  if (policy == core::PagePolicy::kHugetlb2M || policy == core::PagePolicy::kHugetlb1G) {
    const std::uint64_t free_pages = core::hugetlb_free_pages(page_bytes).value_or(0);
    cap = {free_pages * page_bytes,
           fmt::format("the {} pool has {} free pages of {} (reserve more with memprobe run --reserve-hugepages{} N)",
                       core::cli_name(policy), free_pages, core::hugetlb_total_pages(page_bytes).value_or(0),
                       policy == core::PagePolicy::kHugetlb1G ? "-1g" : "")};
    return cap;
  }
  if (policy == core::PagePolicy::kThp) {
    const std::uint64_t budget = quick ? kQuickHugeSpreadBudgetBytes : kHugeSpreadBudgetBytes;
    cap = {budget, fmt::format("the memory budget for one huge-page buffer is {} (first-touching more fresh "
                               "memory would dominate the run, on a VM guest especially)",
                               core::format_bytes(budget))};
  }
  if (const auto available = core::mem_available_bytes()) {
    const auto share = static_cast<std::uint64_t>(static_cast<double>(*available) * kSpreadMemAvailableShare);
    if (share < cap.bytes)
      cap = {share, fmt::format("half of MemAvailable ({}) is the limit", core::format_bytes(*available))};
  }
  return cap;
}

// The family's buffers, as long-lived as its registered cases. The
// page-spread buffer: one at a time (policy, spacing), sized for the largest N
// that uses it; released when another is needed. Huge policies run first, so
// the family ends holding only a 4 KiB buffer (unless only huge policies were
// asked for: then at most the 1 GiB budget).
struct WalkArenas {
  PageSpreadArena spread;
  ReferenceArena reference;
};

struct SpreadCase {
  core::PagePolicy policy = core::PagePolicy::k4K;
  std::string role;  // "walk" or "l2hit"
  std::string pte;   // "warm" (consecutive pages) or "cold" (one PTE line per load)
  std::size_t pages = 0;
  std::size_t spacing_bytes = 0;
  std::size_t buffer_bytes = 0;
  std::string sized_from;  // where the L2 DTLB size came from: measured, cpuid, default
};

std::map<std::string, std::string> with_nested_paging(std::map<std::string, std::string> fields,
                                                      const WalkSetup& setup) {
  if (setup.nested_paging) fields.emplace("nested_paging", "1");
  return fields;
}

void spread_case(benchmark::State& state, WalkArenas& arenas, const SpreadCase& c, const WalkSetup& setup) {
  const PageSpreadArena::Prepared* p = chase_prepared(
      state, arenas.spread.prepare(c.policy, c.spacing_bytes, c.buffer_bytes, c.pages, setup.line_bytes, setup.seed),
      setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(spread_label(*p, c.policy, c.pages, setup.line_bytes,
                                                with_nested_paging({{"role", c.role},
                                                                    {"pte", c.pte},
                                                                    {"spacing_bytes", std::to_string(c.spacing_bytes)},
                                                                    {"l2_dtlb_from", c.sized_from}},
                                                                   setup))));
}

void reference_case(benchmark::State& state, WalkArenas& arenas, std::size_t max_bytes, const SpreadCase& pair,
                    const std::string& variant, const WalkSetup& setup) {
  const ReferenceArena::Prepared* p = chase_prepared(
      state, arenas.reference.prepare(max_bytes, pair.pages, setup.line_bytes, setup.group_pages, setup.seed),
      setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(reference_label(
      *p, pair.pages, setup.line_bytes,
      with_nested_paging(
          {{"role", "reference"}, {"pair", variant}, {"for_page", std::string(core::cli_name(pair.policy))}},
          setup))));
}

// One policy's spread cases, and what the memory cap leaves out of them
// ("" when nothing).
struct PolicyPlan {
  std::vector<SpreadCase> cases;
  std::string skipped;
};

PolicyPlan plan_policy(const core::Machine& machine, const CaseOptions& options, const WalkSetup& setup,
                       core::PagePolicy policy) {
  const std::uint64_t page_bytes = core::requested_page_bytes(policy);
  const SizingEntries l1_sizing = sizing_entries(machine, options, 1, page_bytes);
  const SizingEntries l2_sizing = sizing_entries(machine, options, 2, page_bytes);
  const auto l1 = l1_sizing.entries;
  const auto l2 = l2_sizing.entries;
  const std::uint64_t walk_pages = l2 ? kWalkFactor * *l2 : kUnknownWalkPages;
  // Geometric middle of the L2-hit plateau: far from both knees.
  const std::uint64_t l1_entries = l1.value_or(kUnknownL1Entries);
  const std::uint64_t l2_entries = l2.value_or(kUnknownWalkPages / kWalkFactor);
  const auto l2hit_pages = static_cast<std::uint64_t>(
      std::llround(std::sqrt(static_cast<double>(l1_entries) * static_cast<double>(l2_entries))));
  const MemoryCap cap = memory_cap(policy, options.quick);
  const std::uint64_t cap_pages = cap.bytes / page_bytes;

  PolicyPlan plan;
  std::vector<std::string> cut;
  if (l2hit_pages <= cap_pages) {
    // The L2-hit case shares the walk case's buffer when both fit.
    const std::uint64_t buffer_pages = walk_pages <= cap_pages ? walk_pages : l2hit_pages;
    plan.cases.push_back({policy, "l2hit", "warm", l2hit_pages, page_bytes, buffer_pages * page_bytes, l2_sizing.source});
  } else {
    cut.push_back(fmt::format("l2hit needs {} pages", l2hit_pages));
  }
  if (walk_pages <= cap_pages) {
    plan.cases.push_back({policy, "walk", "warm", walk_pages, page_bytes, walk_pages * page_bytes, l2_sizing.source});
  } else {
    cut.push_back(fmt::format("walk needs {} pages ({}x the {} L2 DTLB)", walk_pages, kWalkFactor, l2_sizing.source));
  }
  if (policy == core::PagePolicy::k4K && options.quick) {
    cut.push_back("cold-PTE walk not run with --quick (it maps and touches hundreds of MiB)");
  } else if (policy == core::PagePolicy::k4K) {
    const std::size_t spacing = page_bytes * (setup.line_bytes / kPteBytes);
    if (walk_pages * spacing <= cap.bytes)
      plan.cases.push_back({policy, "walk", "cold", walk_pages, spacing, walk_pages * spacing, l2_sizing.source});
    else
      cut.push_back(fmt::format("cold-PTE walk needs {}", core::format_bytes(walk_pages * spacing)));
  }
  for (const std::string& c : cut) {
    if (!plan.skipped.empty()) plan.skipped += "; ";
    plan.skipped += c;
  }
  if (!plan.skipped.empty() && !cap.why.empty() && cap_pages < walk_pages)
    plan.skipped = fmt::format("{} ({} {} pages fit: {})", plan.skipped, cap_pages, core::cli_name(policy), cap.why);
  return plan;
}

std::size_t register_pagewalk(const core::Machine& machine, const CaseOptions& options) {
  WalkSetup setup{case_setup(machine, options)};
  setup.nested_paging = machine.hypervisor.has_value();
  if (const auto l1 = sizing_entries(machine, options, 1, 4 * core::kKiB).entries)
    setup.group_pages = std::max<std::size_t>(8, *l1 / 2);

  std::vector<SpreadCase> spread;
  std::vector<std::pair<std::string, std::string>> skipped;  // name, reason
  std::vector<core::PagePolicy> policies = options.policies;
  // Huge policies first: the family ends holding the small 4 KiB buffers.
  std::stable_sort(policies.begin(), policies.end(), [](core::PagePolicy a, core::PagePolicy b) {
    return core::requested_page_bytes(a) > core::requested_page_bytes(b);
  });
  for (const core::PagePolicy policy : policies) {
    PolicyPlan plan = plan_policy(machine, options, setup, policy);
    spread.insert(spread.end(), plan.cases.begin(), plan.cases.end());
    if (!plan.skipped.empty())
      skipped.emplace_back(fmt::format("pagewalk/{}/skipped", core::cli_name(policy)), plan.skipped);
  }

  // Each case is followed at once by its same-footprint reference, so the
  // pair sees the same machine (on a shared VM the load drifts over seconds).
  auto arenas = std::make_shared<WalkArenas>();
  CaseRegistrar cases(options, benchmark::kMicrosecond);
  std::size_t reference_bytes = 0;
  for (const SpreadCase& c : spread) reference_bytes = std::max(reference_bytes, c.pages * setup.line_bytes);
  for (const SpreadCase& c : spread) {
    const std::string variant = c.pte == "cold" ? "walk-cold-pte" : c.role;
    const std::string page_name(core::cli_name(c.policy));
    cases.add(fmt::format("pagewalk/{}/{}/pages:{}", page_name, variant, c.pages),
              [arenas, c, setup](benchmark::State& state) { spread_case(state, *arenas, c, setup); });
    cases.add(fmt::format("pagewalk/{}/{}-reference/pages:{}", page_name, variant, c.pages),
              [arenas, reference_bytes, c, variant, setup](benchmark::State& state) {
                reference_case(state, *arenas, reference_bytes, c, variant, setup);
              });
  }
  for (const auto& [name, reason] : skipped) cases.skip(name, reason);
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(pagewalk, "tlb chase with vs without TLB misses at the same footprint: page-walk cost per page size",
                register_pagewalk);

}  // namespace memprobe::bench
