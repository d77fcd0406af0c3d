// NUMA matrices (like Intel MLC's --latency_matrix and --bandwidth_matrix):
// for each pair (cpu node i, memory node j) of core::plan_numa's plan, a
// DRAM-sized buffer bound strictly to node j (hwloc), its placement verified
// page by page after the first touch (move_pages), then
//   numa/latency/cpu_node:i/mem_node:j  the TLB-local random chase (latency's
//       page-group chain) on node i's first allowed CPU: ns_per_load;
//   numa/read_bw/cpu_node:i/mem_node:j  the read kernel on every allowed CPU
//       of node i, each over its slice of the buffer: gb_per_s.
// Pages found off node j make the case unavailable with the count, never a
// number. Threads are pinned worker threads (joined when the case ends); the
// binding is the buffer's own (munmap ends it): nothing stays bound.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/bandwidth_workers.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/bandwidth_kernels.h"
#include "core/chain.h"
#include "core/chase.h"
#include "core/machine.h"
#include "core/numa.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Dependent loads per timed round of the latency chase (~2 ms in DRAM).
constexpr std::size_t kRoundLoads = 16 * kChaseLoadsPerIteration;
constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;
// Bytes each bandwidth thread reads per timed round.
constexpr std::size_t kRoundBytes = 64 * core::kMiB;
// The smallest working set that is a DRAM figure on any machine we know of
// (the cap below it skips the family).
constexpr std::uint64_t kMinWorkingSetBytes = 64 * core::kMiB;

struct NumaSetup : CaseSetup {
  std::size_t working_set_bytes = 0;
  std::size_t group_pages = 32;
  unsigned nodes_with_memory = 0;
  std::string sizing;  // "measured" or "reported" LLC
};

// The buffer of the memory node being measured, shared by its cases (they
// are registered memory node by memory node): bound, touched, verified, the
// chain built once.
struct NodeMemory {
  int node = -1;
  std::optional<core::NodeBuffer> buffer;
  std::string error;      // non-empty: this node's cases are unavailable
  std::string placement;  // "65536/65536 pages on node 0"
  core::Chain chain;
  void* position = nullptr;

  bool prepare(unsigned mem_node, const NumaSetup& setup) {
    if (node == static_cast<int>(mem_node)) return error.empty();
    buffer.reset();
    chain = {};
    error.clear();
    node = static_cast<int>(mem_node);
    release_arena();  // the other families' memory: the room is ours now
    auto allocated = core::NodeBuffer::allocate(setup.working_set_bytes, mem_node);
    if (!allocated) {
      error = allocated.error().reason;
      return false;
    }
    auto placed = core::page_placement(allocated->data(), allocated->size_bytes());
    if (!placed) {
      error = placed.error().reason;
      return false;
    }
    placement = placed->describe(node);
    if (placed->on(node) != placed->pages) {
      error = fmt::format("memory bound to node {} is not all there after the first touch: {}", mem_node, placement);
      return false;
    }
    buffer.emplace(std::move(*allocated));
    chain = core::build_page_group_cycle(std::span<std::byte>(buffer->data(), buffer->size_bytes()), setup.line_bytes,
                                         core::base_page_bytes(), setup.group_pages, setup.seed);
    position = chain.head;
    return true;
  }
};

std::map<std::string, std::string> pair_label(const core::NumaPair& pair, const NodeMemory& memory,
                                              const NumaSetup& setup) {
  return {{"cpu_node", std::to_string(pair.cpu_node)},
          {"mem_node", std::to_string(pair.mem_node)},
          {"working_set_bytes", std::to_string(memory.buffer ? memory.buffer->size_bytes() : 0)},
          {"page", "4k"},
          {"placement", "move_pages"},
          {"pages_on_node", std::to_string(memory.buffer ? memory.buffer->size_bytes() / core::base_page_bytes() : 0)},
          {"nodes_with_memory", std::to_string(setup.nodes_with_memory)},
          {"llc_sizing", setup.sizing}};
}

void latency_case(benchmark::State& state, NodeMemory& memory, const core::NumaPair& pair, int cpu,
                  const NumaSetup& setup) {
  if (!memory.prepare(pair.mem_node, setup)) {
    fail_case(state, memory.error);
    return;
  }
  auto pool = WorkerPool::start({cpu});
  if (!pool) {
    fail_case(state, pool.error().reason);
    return;
  }
  void* position = memory.position;
  const std::size_t warmup = std::min(memory.chain.length, kMaxWarmupLoads);
  (*pool)->run([&](std::size_t) { position = core::memprobe_chase(position, warmup); });
  const std::function<void(std::size_t)> job = [&](std::size_t) {
    position = core::memprobe_chase(position, kRoundLoads);
  };
  double seconds = 0;
  for (auto _ : state) {
    const double round_s = static_cast<double>((*pool)->run(job).front()) / setup.tsc_hz;
    state.SetIterationTime(round_s);
    seconds += round_s;
  }
  benchmark::DoNotOptimize(position);
  memory.position = position;
  report_per_load(state, seconds, static_cast<double>(state.iterations()) * kRoundLoads, setup.clocks());
  auto label = pair_label(pair, memory, setup);
  label["cpu"] = std::to_string(cpu);
  label["tlb_method"] = latency_tlb_method(setup.group_pages);
  label["seed"] = std::to_string(memory.chain.seed);
  state.SetLabel(format_case_label(label));
}

void read_bw_case(benchmark::State& state, NodeMemory& memory, const core::NumaPair& pair,
                  const std::vector<int>& cpus, const NumaSetup& setup) {
  if (!memory.prepare(pair.mem_node, setup)) {
    fail_case(state, memory.error);
    return;
  }
  auto pool = WorkerPool::start(cpus);
  if (!pool) {
    fail_case(state, pool.error().reason);
    return;
  }
  const std::size_t granule = 2 * core::kBandwidthGranuleBytes;
  const std::size_t slice = memory.buffer->size_bytes() / cpus.size() / granule * granule;
  if (slice == 0) {
    fail_case(state, "the working set is too small to split between the node's CPUs");
    return;
  }
  const core::BandwidthKernels kernels = core::widest_kernels();
  const std::size_t passes = std::max<std::size_t>(1, kRoundBytes / slice);
  std::vector<std::uint64_t> sums(cpus.size() * 8, 0);  // a line per thread
  std::byte* base = memory.buffer->data();
  const std::function<void(std::size_t)> job = [&](std::size_t i) {
    std::uint64_t sum = 0;
    for (std::size_t p = 0; p < passes; ++p)
      sum += core::run_bandwidth_pass(kernels, core::BandwidthKernel::kRead, base + i * slice, slice);
    sums[i * 8] += sum;
  };
  (*pool)->run(job);  // untimed: settles the clocks and the TLBs
  const double seconds = time_worker_rounds(state, **pool, job, setup.tsc_hz);
  benchmark::DoNotOptimize(sums.data());
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(passes) *
                       static_cast<double>(cpus.size()) *
                       static_cast<double>(core::bytes_moved(core::BandwidthKernel::kRead, slice));
  if (seconds > 0) state.counters["gb_per_s"] = bytes / seconds / 1e9;
  auto label = pair_label(pair, memory, setup);
  label["kernel"] = "read";
  label["threads"] = std::to_string(cpus.size());
  label["cpus"] = fmt::format("{}", fmt::join(cpus, ","));
  label["vector"] = std::string(core::vector_name(kernels.width));
  state.SetLabel(format_case_label(label));
}

std::size_t register_numa(const core::Machine& machine, const CaseOptions& options) {
  NumaSetup setup;
  static_cast<CaseSetup&>(setup) = case_setup(machine, options);
  setup.group_pages = page_group_pages(machine);
  setup.sizing = sizing_source(options);
  // A DRAM-sized set: 4x the LLC (the measured one when latency ran) within
  // [256 MiB, 1 GiB]; within [64 MiB, 256 MiB] with --quick, whose cost is
  // mostly first touch; capped by --max-working-set.
  const std::uint64_t llc = sizing_llc_bytes(machine, options);
  const std::uint64_t wanted = options.quick ? std::clamp<std::uint64_t>(4 * llc, kMinWorkingSetBytes, 256 * core::kMiB)
                                             : std::clamp<std::uint64_t>(4 * llc, 256 * core::kMiB, core::kGiB);
  setup.working_set_bytes = capped_working_set(wanted, options) / (2 * core::kMiB) * (2 * core::kMiB);
  const std::string capped_out = setup.working_set_bytes < kMinWorkingSetBytes
                                     ? cap_skip_reason("numa (a DRAM working set)", kMinWorkingSetBytes, options)
                                     : std::string();

  const core::NumaPlan plan = core::plan_numa_here(options.numa_nodes);
  setup.nodes_with_memory = static_cast<unsigned>(std::count_if(
      plan.nodes.begin(), plan.nodes.end(), [](const core::NumaNodePlan& n) { return n.memory_bytes > 0; }));
  auto memory = std::make_shared<NodeMemory>();
  CaseRegistrar cases(options, benchmark::kMillisecond);
  for (const core::NumaPair& pair : plan.pairs) {
    const std::string where = fmt::format("cpu_node:{}/mem_node:{}", pair.cpu_node, pair.mem_node);
    const std::string latency_name = "numa/latency/" + where;
    const std::string bw_name = "numa/read_bw/" + where;
    const std::string skip = !pair.skip_reason.empty() ? pair.skip_reason : capped_out;
    if (!skip.empty()) {
      cases.skip(latency_name, skip);
      cases.skip(bw_name, skip);
      continue;
    }
    const core::NumaNodePlan& cpu_node = *plan.find(pair.cpu_node);
    const int cpu = cpu_node.latency_cpu;
    const std::vector<int> cpus = cpu_node.cpus;
    cases.add(latency_name, [memory, pair, cpu, setup](benchmark::State& state) {
           latency_case(state, *memory, pair, cpu, setup);
         })->UseManualTime();
    cases.add(bw_name, [memory, pair, cpus, setup](benchmark::State& state) {
           read_bw_case(state, *memory, pair, cpus, setup);
         })->UseManualTime();
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(numa, "NUMA matrices: threads on node i, memory bound to node j: DRAM ns/load and read GB/s",
                          register_numa);

}  // namespace memprobe::bench
