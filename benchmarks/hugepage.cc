// Huge-page A/B: the latency chase over a random single cycle of cache lines
// (no page groups: the TLB misses are the point) at working sets that span
// cache-resident, TLB-bound and DRAM-sized access up to where huge pages pay
// (a ladder to 4 GiB, past the 4 KiB page tables' cache reach), under each
// page policy, with the backing verified. Past kMinDramChainNodes lines the
// chain is one random line per slot of the set (build_sparse_random_cycle). Reports ns_per_load and cycles_per_load;
// analysis/hugepage turns them into speed-ups over 4 KiB pages.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/chase.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Untimed warm-up: a full lap (bounded) brings a cache-sized set in.
constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;
// Largest working set as a fraction of MemAvailable (4k/thp): the rest of the
// run and the system keep room.
constexpr std::uint64_t kMemAvailableShare = 4;

struct WorkingSet {
  std::uint64_t bytes = 0;
  const char* region = "";  // "cache", "tlb", "dram"
  std::string skipped;      // why --max-working-set leaves this point out; empty: measured
};

// Where a working set sits for 4 KiB pages: "cache" while both the data and
// its pages fit (the L1 DTLB's 4 KiB reach and the LLC), "tlb" when the data
// still fits the LLC but its 4 KiB pages overflow the L1 DTLB, "dram" beyond
// the LLC.
const char* region_of(std::uint64_t ws_bytes, std::uint64_t l1_dtlb_reach_bytes, std::uint64_t llc_bytes) {
  if (ws_bytes > llc_bytes) return "dram";
  if (ws_bytes > l1_dtlb_reach_bytes) return "tlb";
  return "cache";
}

std::uint64_t floor_pow2(std::uint64_t x) { return x ? std::bit_floor(x) : 0; }

std::uint64_t cache_bytes(const core::Machine& machine, const CaseOptions& options, std::size_t level) {
  const std::vector<std::uint64_t> sizes = sizing_cache_bytes(machine, options);
  return level >= 1 && level <= sizes.size() ? sizes[level - 1] : 0;
}

std::uint64_t l1_dtlb_reach_4k(const core::Machine& machine) {
  for (const core::TlbLevel& t : machine.tlbs)
    if (t.level == 1 && t.kind != "instruction" && t.page_bytes == 4 * core::kKiB && t.entries)
      return std::uint64_t{*t.entries} * 4 * core::kKiB;
  return 256 * core::kKiB;  // 64 entries: the smallest L1 DTLB of the CPUs memprobe targets
}

// The DRAM ladder's top: huge pages pay once the 4 KiB page tables (working
// set / 512) outgrow the caches and the huge-page L2 DTLB reach, which on
// current cores is past 1 GiB whatever the LLC. 4 GiB where memory allows,
// else 1 GiB; --quick stops at 256 MiB (its summary says the ladder was short;
// a 512 MiB rung's first touch and chain cost over a second per page policy
// in a guest, a tenth of the 15 s a --quick run has).
constexpr std::uint64_t kLadderTopBytes = 4 * core::kGiB;
constexpr std::uint64_t kLadderMinTopBytes = 1 * core::kGiB;
constexpr std::uint64_t kQuickLadderTopBytes = 256 * core::kMiB;
// Rungs of the ladder: each this many times the one below it.
constexpr std::uint64_t kLadderStep = 4;
// Nodes of a DRAM rung's chain: one per slot of the set (build_sparse_random_cycle),
// enough lines to overflow any LLC many times over, few enough that building
// the chain costs less than measuring it.
constexpr std::size_t kMinDramChainNodes = std::size_t{1} << 20;
constexpr std::uint64_t kDramChainLlcMultiple = 8;

// The largest working set the page policies may use: 1/kMemAvailableShare of
// MemAvailable (0: unknown, no limit).
std::uint64_t memory_cap_bytes() { return core::mem_available_bytes().value_or(0) / kMemAvailableShare; }

// The ladder's top before --max-working-set: kLadderTopBytes where memory
// allows, else the largest power of two that fits (at least 1 GiB is tried:
// the memory check then names what cut it).
std::uint64_t ladder_top_bytes(bool quick, std::uint64_t memory_cap) {
  if (quick) return kQuickLadderTopBytes;
  if (memory_cap == 0 || memory_cap >= kLadderTopBytes) return kLadderTopBytes;
  return std::max(kLadderMinTopBytes, floor_pow2(memory_cap));
}

// Inside L2 and the L1 DTLB reach; inside L2 beyond it; half the LLC (beyond
// the L2 DTLB's 4 KiB reach on every current core); then the DRAM ladder:
// 2x the LLC, and from the top (ladder_top_bytes) down by kLadderStep while
// above 4x the LLC. Each at most --max-working-set; a DRAM point the cap
// pulls below 2x the LLC, or the top rung cut by the cap, is kept as a
// skipped entry with the reason.
std::vector<WorkingSet> working_sets(const core::Machine& machine, const CaseOptions& options) {
  const bool quick = options.quick;
  const std::uint64_t llc = std::max<std::uint64_t>(sizing_llc_bytes(machine, options), 4 * core::kMiB);
  const std::uint64_t l2 =
      cache_bytes(machine, options, 2) ? cache_bytes(machine, options, 2) : std::min<std::uint64_t>(llc / 4, core::kMiB);
  const std::uint64_t reach = l1_dtlb_reach_4k(machine);
  std::vector<std::uint64_t> sizes = {floor_pow2(std::min(l2 / 2, reach / 2)), floor_pow2(l2 / 2),
                                      floor_pow2(llc / 2), 2 * llc};
  const std::uint64_t top = ladder_top_bytes(quick, memory_cap_bytes());
  for (std::uint64_t rung = top; rung > 4 * llc; rung /= kLadderStep) sizes.push_back(rung);
  std::vector<WorkingSet> skipped;
  for (std::uint64_t& s : sizes) {
    const std::uint64_t capped = capped_working_set(s, options);
    if (capped < s && region_of(s, reach, llc) == std::string_view("dram") && (capped < 2 * llc || s == top))
      skipped.push_back({s, "dram",
                         s == top ? cap_skip_reason("the huge-page ladder's top", s, options)
                                  : cap_skip_reason("a DRAM-sized point (2x the LLC)", 2 * llc, options)});
    s = capped;
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  std::vector<WorkingSet> out;
  for (const std::uint64_t s : sizes)
    if (s >= 4 * core::kKiB) out.push_back({s, region_of(s, reach, llc), ""});
  for (WorkingSet& ws : skipped)
    if (std::none_of(out.begin(), out.end(), [&](const WorkingSet& o) { return o.bytes == ws.bytes; }))
      out.push_back(std::move(ws));
  return out;
}

// The chain's node count at one working set: every line up to the DRAM
// chain size, one node per slot beyond it.
std::size_t chain_nodes(std::uint64_t working_set_bytes, std::size_t line_bytes, std::uint64_t llc_bytes) {
  const std::size_t all = working_set_bytes / line_bytes;
  const std::size_t sparse = std::max<std::size_t>(kMinDramChainNodes, kDramChainLlcMultiple * llc_bytes / line_bytes);
  return std::min(all, sparse);
}

std::size_t round_up(std::size_t bytes, std::size_t granule) { return (bytes + granule - 1) / granule * granule; }

// First touch is the ladder's cost: each page policy may spend this long
// allocating its growing buffer (a rung predicted to take longer is skipped
// with the reason), half of it with --quick. A guest whose host backs it
// with 4 KiB pages faults 4 GiB of base pages in ~10 s: that rung is then
// skipped, and the ladder ends at 1 GiB, already past the 4 KiB page tables'
// cache reach; a host that faults fast keeps it.
constexpr double kLadderTouchBudgetS = 5.0;

// What one page policy's buffer has cost so far: the rate of its last
// allocation predicts the next, larger one.
struct TouchCost {
  double seconds = 0;                // spent allocating this policy's buffers
  double bytes_per_s = 0;            // of the largest allocation so far; 0: none timed yet
  std::uint64_t timed_bytes = 0;     // its size
};

// The chain this family last built in the shared arena, valid while the
// arena's epoch and the working set are unchanged. Its backing is the whole
// arena's, which the working set is the start of: a huge-page figure counts
// only if it is verified (analysis/hugepage).
struct Prepared : PreparedChain {
  std::uint64_t epoch = 0;
  std::size_t working_set_bytes = 0;
  std::map<core::PagePolicy, TouchCost> touch;  // per page policy
};

// Why allocating `bytes` more for `policy` would overrun the ladder's
// budget; "" when it fits or no rate is known yet.
std::string touch_budget_cut(const TouchCost& cost, std::uint64_t bytes, double budget_s) {
  if (cost.bytes_per_s <= 0) return "";
  const double predicted_s = static_cast<double>(bytes) / cost.bytes_per_s;
  if (cost.seconds + predicted_s <= budget_s) return "";
  return fmt::format(
      "skipped: first touch of {} would take {:.1f} s at the {:.2f} GB/s this page policy's {} buffer was touched at, "
      "past the ladder's first-touch budget ({:.1f} of {:.0f} s spent)",
      core::format_bytes(bytes), predicted_s, cost.bytes_per_s / 1e9, core::format_bytes(cost.timed_bytes),
      cost.seconds, budget_s);
}

// The buffer grows rung by rung (each allocation just large enough), so the
// time a rung's first touch takes is known before the next, larger one.
core::Result<Prepared*> prepare(Prepared& p, core::PagePolicy policy, std::uint64_t working_set_bytes,
                                std::size_t nodes, double touch_budget_s, const CaseSetup& setup) {
  const std::size_t min_bytes = round_up(working_set_bytes, core::requested_page_bytes(policy));
  TouchCost& cost = p.touch[policy];
  const bool grows = arena_bytes_held(policy) < min_bytes;
  if (grows) {
    if (const std::string cut = touch_budget_cut(cost, min_bytes, touch_budget_s); !cut.empty())
      return core::Unavailable{cut};
  }
  const auto start = std::chrono::steady_clock::now();
  auto lease = acquire_arena("hugepage", policy, min_bytes, min_bytes);
  if (!lease) return lease.error();
  if (grows) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cost.seconds += seconds;
    if (seconds > 0 && min_bytes >= cost.timed_bytes) {
      cost.bytes_per_s = static_cast<double>(min_bytes) / seconds;
      cost.timed_bytes = min_bytes;
    }
  }
  p.backing = &lease->buffer->backing();
  if (p.epoch != lease->epoch || p.working_set_bytes != working_set_bytes) {
    p.chain = core::build_sparse_random_cycle(lease->buffer->bytes().first(working_set_bytes), setup.line_bytes, nodes,
                                              setup.seed);
    p.position = core::memprobe_chase(p.chain.head, std::min(p.chain.length, kMaxWarmupLoads));
    p.epoch = lease->epoch;
    p.working_set_bytes = working_set_bytes;
  }
  return &p;
}

void hugepage_case(benchmark::State& state, Prepared& prepared, core::PagePolicy policy, WorkingSet ws,
                   std::size_t nodes, double touch_budget_s, const CaseSetup& setup) {
  const Prepared* p =
      chase_prepared(state, prepare(prepared, policy, ws.bytes, nodes, touch_budget_s, setup), setup.clocks());
  if (!p) return;
  const bool sparse = p->chain.length < ws.bytes / setup.line_bytes;
  state.SetLabel(format_case_label(with_backing({{"page", std::string(core::cli_name(policy))},
                                                  {"working_set_bytes", std::to_string(ws.bytes)},
                                                  {"stride_bytes", std::to_string(setup.line_bytes)},
                                                  {"region", ws.region},
                                                  {"chain", sparse ? "sparse-random-cycle" : "random-cycle"},
                                                  {"chain_nodes", std::to_string(p->chain.length)},
                                                  {"seed", std::to_string(p->chain.seed)}},
                                                 *p->backing)));
}

std::size_t register_hugepage(const core::Machine& machine, const CaseOptions& options) {
  const CaseSetup setup = case_setup(machine, options);

  const std::vector<WorkingSet> sets = working_sets(machine, options);
  const std::uint64_t memory_cap = memory_cap_bytes();
  const std::uint64_t llc = std::max<std::uint64_t>(sizing_llc_bytes(machine, options), 4 * core::kMiB);
  // The chain lives as long as these cases: each registration builds its own.
  auto prepared = std::make_shared<Prepared>();
  CaseRegistrar cases(options, benchmark::kMillisecond);
  const double touch_budget_s = options.quick ? kLadderTouchBudgetS / 2 : kLadderTouchBudgetS;
  for (const core::PagePolicy policy : options.policies) {
    const std::size_t page_bytes = core::requested_page_bytes(policy);
    auto too_large = [&](const WorkingSet& ws) {
      return memory_cap > 0 && round_up(ws.bytes, page_bytes) > memory_cap;
    };
    for (const WorkingSet& ws : sets) {
      const std::string name = fmt::format("hugepage/{}/{}", core::cli_name(policy), compact_bytes(ws.bytes));
      if (!ws.skipped.empty())
        cases.skip(name, ws.skipped);
      else if (too_large(ws))
        cases.skip(name, fmt::format("skipped: {} is more than 1/{} of MemAvailable ({})", core::format_bytes(ws.bytes),
                                     kMemAvailableShare, core::format_bytes(memory_cap * kMemAvailableShare)));
      else
        cases.add(name, [prepared, policy, ws, nodes = chain_nodes(ws.bytes, setup.line_bytes, llc), touch_budget_s,
                         setup](benchmark::State& state) {
          hugepage_case(state, *prepared, policy, ws, nodes, touch_budget_s, setup);
        });
    }
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(hugepage,
                "random-cycle chase at cache, TLB-bound and DRAM working sets under each page policy "
                "(huge-page speed-up, backing verified)",
                register_hugepage);

}  // namespace memprobe::bench
