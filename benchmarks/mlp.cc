// Memory-level parallelism: k independent random chases interleaved in one
// thread over a DRAM-sized set (8x the LLC, at most --max-working-set).
// Reports ns_per_load (wall time / loads of all chains) per k;
// analysis/bandwidth derives the speed-up over k = 1 and the k where
// throughput saturates (the miss buffers are full).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/mlp_chase.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Loads per Google Benchmark iteration over all chains (~0.2-2 ms in DRAM).
constexpr std::size_t kLoadsPerIteration = 16384;
constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;
// The chains are k cursors on one random cycle, started evenly spaced along
// it (N/k nodes apart), so they never meet. 480 = lcm of the k swept: the
// anchors for every k. Beyond k = 16 a Zen 4 or Golden Cove core still gains.
constexpr std::size_t kAnchors = 480;
constexpr std::array<std::size_t, 11> kChainCounts = {1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32};

struct MlpSetup : CaseSetup {
  std::size_t working_set_bytes = 0;
};

class MlpArena {
 public:
  struct Prepared : DramChain {
    std::vector<void*> anchors;  // node i * N / kAnchors of the walk from head
    std::map<std::size_t, std::vector<void*>> cursors;  // per k: where its chains stopped
  };

  core::Result<Prepared*> prepare(const MlpSetup& setup) {
    // THP when the kernel backs it fully, else 4 KiB pages (then the chase
    // also misses the TLB: the label says which).
    auto rebuilt = prepare_dram_chain("mlp", setup.working_set_bytes, setup.line_bytes, setup.seed, prepared_);
    if (!rebuilt) return rebuilt.error();
    if (!*rebuilt) return &prepared_;
    prepared_.anchors.clear();
    prepared_.cursors.clear();
    const std::size_t spacing = prepared_.chain.length / kAnchors;
    void* position = prepared_.chain.head;
    for (std::size_t i = 0; i < kAnchors; ++i) {
      prepared_.anchors.push_back(position);
      core::memprobe_chase_k(&position, 1, spacing);  // exact steps (memprobe_chase rounds up)
    }
    return &prepared_;
  }

 private:
  Prepared prepared_;
};

void mlp_case(benchmark::State& state, MlpArena& arena, std::size_t k, const MlpSetup& setup) {
  auto prepared = arena.prepare(setup);
  if (!prepared) {
    fail_case(state, prepared.error().reason);
    return;
  }
  MlpArena::Prepared& p = **prepared;
  auto [it, fresh] = p.cursors.try_emplace(k);
  std::vector<void*>& heads = it->second;
  const std::size_t steps = std::max<std::size_t>(1, kLoadsPerIteration / k);
  if (fresh) {
    for (std::size_t i = 0; i < k; ++i) heads.push_back(p.anchors[i * (kAnchors / k)]);
    core::memprobe_chase_k(heads.data(), k, std::min(p.chain.length, kMaxWarmupLoads) / k);  // untimed warm-up
  }

  const std::uint64_t start_ticks = core::tsc_begin();
  for (auto _ : state) core::memprobe_chase_k(heads.data(), k, steps);
  const std::uint64_t end_ticks = core::tsc_end();
  benchmark::DoNotOptimize(heads.data());

  const double loads = static_cast<double>(state.iterations()) * static_cast<double>(steps * k);
  report_per_load(state, static_cast<double>(end_ticks - start_ticks) / setup.tsc_hz, loads,
                  setup.clocks());
  state.SetLabel(format_case_label(with_backing({{"k", std::to_string(k)},
                                                  {"working_set_bytes", std::to_string(setup.working_set_bytes)},
                                                  {"stride_bytes", std::to_string(setup.line_bytes)},
                                                  {"page", p.page},
                                                  {"seed", std::to_string(p.chain.seed)}},
                                                 *p.backing)));
}

std::size_t register_mlp(const core::Machine& machine, const CaseOptions& options) {
  MlpSetup setup{case_setup(machine, options)};
  const std::uint64_t llc = sizing_llc_bytes(machine, options);
  // 8x the LLC, so nearly every load misses it.
  const DramChaseWorkingSet ws = dram_chase_working_set(llc, options, "mlp (random chases over DRAM, 2x the LLC)");
  setup.working_set_bytes = ws.bytes;
  const std::string& capped_out = ws.skip_reason;

  // The chain and the cursors live as long as these cases.
  auto arena = std::make_shared<MlpArena>();
  CaseRegistrar cases(options, benchmark::kMillisecond);
  for (const std::size_t k : kChainCounts) {
    if (options.quick && (k == 6 || k == 10 || k == 12 || k == 20)) continue;
    const std::string name = fmt::format("mlp/k:{}", k);
    if (!capped_out.empty())
      cases.skip(name, capped_out);
    else
      cases.add(name, [arena, k, setup](benchmark::State& state) { mlp_case(state, *arena, k, setup); });
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(mlp, "k independent random chases interleaved in one thread over DRAM: ns per load per k",
                register_mlp);

}  // namespace memprobe::bench
