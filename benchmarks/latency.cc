// Load-to-use latency: a dependent pointer chase over a random single cycle of
// cache lines, working set swept from 4 KiB to >= 8x the last-level cache
// (or to --max-working-set).
// Reports ns_per_load and cycles_per_load (core cycles from the calibrated
// core clock, never TSC ticks) per working set and page policy.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "benchmarks/sweep.h"
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

struct LatencySetup : CaseSetup {
  std::size_t group_pages = 32;  // page-group size for 4 KiB pages
};

// The chain built in the shared arena (benchmarks/arena.h: one buffer per
// policy, as large as the policy's largest working set, shared with the
// hugepage family and released by pagefault), rebuilt when the arena's epoch
// or the working set changes.
class LatencyArena {
 public:
  struct Prepared : PreparedChain {
    std::string tlb_method;
    std::uint64_t epoch = 0;
    std::size_t working_set_bytes = 0;
  };

  core::Result<Prepared*> prepare(core::PagePolicy policy, std::size_t arena_bytes,
                                  std::size_t working_set_bytes, const LatencySetup& setup) {
    // The whole sweep needs the whole arena: no smaller fallback.
    auto lease = acquire_arena("latency", policy, arena_bytes, arena_bytes);
    if (!lease) return lease.error();
    const core::Buffer& buffer = *lease->buffer;
    if (prepared_ && prepared_->epoch == lease->epoch && prepared_->working_set_bytes == working_set_bytes)
      return &*prepared_;

    // One access pattern for every page policy, so the curves of 4k, THP,
    // 2m and 1g differ by page size alone. A random cycle over the whole set
    // instead measures translation too (hugepage family: "DRAM +
    // translation").
    Prepared p;
    static_cast<PreparedChain&>(p) = prepare_latency_chain(buffer.bytes().first(working_set_bytes), buffer,
                                                          setup.line_bytes, setup.group_pages, setup.seed);
    p.tlb_method = latency_tlb_method(setup.group_pages);
    p.epoch = lease->epoch;
    p.working_set_bytes = working_set_bytes;
    prepared_ = std::move(p);
    return &*prepared_;
  }

 private:
  std::optional<Prepared> prepared_;
};

void latency_case(benchmark::State& state, LatencyArena& arena, core::PagePolicy policy, std::size_t arena_bytes,
                  std::size_t working_set_bytes, const LatencySetup& setup) {
  const LatencyArena::Prepared* p =
      chase_prepared(state, arena.prepare(policy, arena_bytes, working_set_bytes, setup), setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(with_backing({{"page", std::string(core::cli_name(policy))},
                                                  {"working_set_bytes", std::to_string(working_set_bytes)},
                                                  {"stride_bytes", std::to_string(setup.line_bytes)},
                                                  {"tlb_method", p->tlb_method},
                                                  {"seed", std::to_string(p->chain.seed)}},
                                                 *p->backing)));
}

std::size_t register_latency(const core::Machine& machine, const CaseOptions& options) {
  LatencySetup setup{case_setup(machine, options)};
  setup.group_pages = page_group_pages(machine);

  // The harness grows the sweep until the curve shows DRAM (sweep_up_to_bytes);
  // without it (memprobe bench), to 8x the reported LLC (4x when quick); and
  // exactly to --max-working-set when that is given.
  const std::uint64_t max_ws_bytes =
      options.sweep_up_to_bytes > 0 ? options.sweep_up_to_bytes
      : options.max_working_set_bytes > 0
          ? options.max_working_set_bytes
          : default_max_working_set_bytes(machine.topology.last_level_cache_bytes(), options.quick);
  std::vector<std::uint64_t> anchors;
  for (const core::CacheLevel& cache : machine.topology.data_caches()) anchors.push_back(cache.size_bytes);
  std::vector<std::uint64_t> sizes = latency_sweep_sizes(max_ws_bytes, options.quick, anchors, setup.line_bytes);
  // The log grid may stop short of a cap that is not on it: the cap itself is
  // the last point (a whole number of 4 KiB pages: the harness checks).
  if (options.max_working_set_bytes > 0 && max_ws_bytes == options.max_working_set_bytes &&
      (sizes.empty() || sizes.back() < max_ws_bytes))
    sizes.push_back(max_ws_bytes);
  std::erase_if(sizes, [&](std::uint64_t ws) { return ws <= options.sweep_above_bytes; });

  // The chain lives as long as these cases (not the process): each
  // registration starts from a fresh one.
  auto arena = std::make_shared<LatencyArena>();
  CaseRegistrar cases(options, benchmark::kMillisecond);
  for (const core::PagePolicy policy : options.policies) {
    const std::size_t page_bytes = core::requested_page_bytes(policy);
    const std::size_t arena_bytes = (max_ws_bytes + page_bytes - 1) / page_bytes * page_bytes;
    for (const std::uint64_t ws : sizes)
      cases.add(fmt::format("latency/{}/{}", core::cli_name(policy), compact_bytes(ws)),
                [arena, policy, arena_bytes, ws, setup](benchmark::State& state) {
                  latency_case(state, *arena, policy, arena_bytes, ws, setup);
                });
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(latency, "dependent pointer chase over a random cycle: ns and cycles per load per working set",
                register_latency);

}  // namespace memprobe::bench
