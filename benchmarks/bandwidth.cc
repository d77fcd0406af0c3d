// Sequential bandwidth: read, write, copy and non-temporal write with the
// widest vector kernels this CPU runs, working set swept from L1 into DRAM,
// on 1 thread and on one pinned thread per core (all threads' sets together
// at most --max-working-set). Reports gb_per_s (1e9 B/s,
// bytes as core::bytes_moved counts them; time = the slowest thread's).
// The read:write mixes (core/bandwidth_kernels.h: 1:0 = read, 3:1, 2:1,
// 1:1 = copy, triad) carry a `mix` parameter; the three with kernels of their
// own (mix_3_1, mix_2_1, triad) run at every point when --only names the
// family, else only at its two largest working sets (DRAM and the last
// cache level) on all cores, to keep the default run short.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/bandwidth_workers.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/bandwidth_kernels.h"
#include "core/buffer.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Bytes each thread moves per timed round: long enough that the barrier and
// wake-up (~tens of us) vanish even in L1, one pass for DRAM-sized sets.
constexpr std::size_t kRoundBytes = 32 * core::kMiB;
// Working sets are multiples of this (copy splits them in two halves of
// whole kernel granules).
constexpr std::size_t kWorkingSetGranuleBytes = 2 * core::kBandwidthGranuleBytes;

struct BandwidthSetup : CaseSetup {
  core::PagePolicy policy = core::PagePolicy::kThp;
  std::vector<int> cpus{};  // one per core; the first `threads` are used
  std::size_t arena_bytes = 0;  // the largest case's: one allocation for the family
};

void bandwidth_case(benchmark::State& state, core::BandwidthKernel kernel, std::size_t threads,
                    std::size_t working_set_bytes, const BandwidthSetup& setup) {
  if (setup.cpus.size() < threads) {
    fail_case(state, fmt::format("needs {} cores, this process may run on {}", threads, setup.cpus.size()));
    return;
  }
  const std::size_t total_bytes = threads * working_set_bytes;
  auto lease = acquire_arena("bandwidth", setup.policy, total_bytes, std::max(total_bytes, setup.arena_bytes));
  if (!lease) {
    fail_case(state, lease.error().reason);
    return;
  }
  const core::Buffer& buffer = *lease->buffer;
  auto pool = WorkerPool::start(std::vector<int>(setup.cpus.begin(), setup.cpus.begin() + static_cast<long>(threads)));
  if (!pool) {
    fail_case(state, pool.error().reason);
    return;
  }
  const core::BandwidthKernels kernels = core::widest_kernels();
  const std::size_t passes = std::max<std::size_t>(1, kRoundBytes / working_set_bytes);
  std::vector<std::uint64_t> sums(threads * 8, 0);  // a line per thread: no false sharing
  const std::function<void(std::size_t)> job = [&](std::size_t i) {
    std::byte* slice = buffer.data() + i * working_set_bytes;
    std::uint64_t sum = 0;
    for (std::size_t p = 0; p < passes; ++p) sum += core::run_bandwidth_pass(kernels, kernel, slice, working_set_bytes);
    sums[i * 8] += sum;
  };
  (*pool)->run([&](std::size_t i) {
    core::prepare_bandwidth_pass(kernel, buffer.data() + i * working_set_bytes, working_set_bytes);
  });
  (*pool)->run(job);  // untimed: brings a cache-sized set in, settles the clocks

  const double seconds = time_worker_rounds(state, **pool, job, setup.tsc_hz);
  benchmark::DoNotOptimize(sums.data());
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(passes) *
                       static_cast<double>(threads) *
                       static_cast<double>(core::bytes_moved(kernel, working_set_bytes));
  if (seconds > 0) state.counters["gb_per_s"] = bytes / seconds / 1e9;
  std::map<std::string, std::string> params = {
      {"kernel", std::string(core::kernel_name(kernel))},
      {"threads", std::to_string(threads)},
      {"working_set_bytes", std::to_string(working_set_bytes)},
      {"total_bytes", std::to_string(total_bytes)},
      {"vector", std::string(core::vector_name(kernels.width))},
      {"page", std::string(core::cli_name(setup.policy))},
  };
  if (const auto mix = core::mix_of(kernel)) params["mix"] = std::string(mix->name);
  state.SetLabel(format_case_label(with_backing(std::move(params), buffer.backing())));
}

std::size_t round_working_set(std::uint64_t bytes) {
  return std::max<std::size_t>(kWorkingSetGranuleBytes,
                               bytes / kWorkingSetGranuleBytes * kWorkingSetGranuleBytes);
}

// Half of each cache level (the rest holds the stack, code, page tables),
// and dram_bytes for DRAM; sorted, unique.
std::vector<std::size_t> bandwidth_sizes(const core::Machine& machine, const CaseOptions& options,
                                         std::size_t dram_bytes) {
  std::vector<std::size_t> sizes = {round_working_set(16 * core::kKiB)};
  // Measured capacities where the run has them (a guest's L3 can be a small
  // fraction of what CPUID reports), reported ones otherwise.
  for (const std::uint64_t cache_bytes : sizing_cache_bytes(machine, options))
    sizes.push_back(round_working_set(cache_bytes / 2));
  sizes.push_back(dram_bytes);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  if (options.quick && sizes.size() > 4) sizes.erase(sizes.begin());  // 16 KiB duplicates L1/2 mostly
  return sizes;
}

struct Point {
  std::size_t threads;
  std::size_t working_set_bytes;
  std::string skipped;  // the reason, for a point the cap leaves out
};

// The points of one thread count. --max-working-set caps what a case
// touches: all its threads' sets together (threads x working set), so the
// all-core cases use smaller sets per thread. Sets the cap merges are
// measured once; a DRAM point the cap pulls within 2x the LLC is skipped with
// the reason.
std::vector<Point> capped_points(const std::vector<std::size_t>& sizes, std::size_t threads, std::size_t dram_bytes,
                                 std::uint64_t llc, const CaseOptions& options) {
  std::vector<std::size_t> capped;
  std::string dram_skipped;
  for (const std::size_t ws : sizes) {
    if (options.max_working_set_bytes == 0 || ws * threads <= options.max_working_set_bytes) {
      capped.push_back(ws);
      continue;
    }
    const std::size_t per_thread = round_working_set(options.max_working_set_bytes / threads);
    if (ws == dram_bytes && llc > 0 && per_thread < 2 * llc)
      dram_skipped = cap_skip_reason(fmt::format("bandwidth's DRAM point on {} thread{} (2x the LLC per thread)",
                                                 threads, threads == 1 ? "" : "s"),
                                     2 * llc * threads, options);
    else
      capped.push_back(per_thread);
  }
  std::sort(capped.begin(), capped.end());
  capped.erase(std::unique(capped.begin(), capped.end()), capped.end());
  std::vector<Point> points;
  for (const std::size_t ws : capped) points.push_back({threads, ws, ""});
  if (!dram_skipped.empty()) points.push_back({threads, dram_bytes, dram_skipped});
  return points;
}

std::size_t register_bandwidth(const core::Machine& machine, const CaseOptions& options) {
  BandwidthSetup setup{case_setup(machine, options)};
  // One page policy: THP when the run asks for it (fewer TLB misses in the
  // DRAM-sized sets), else the first one asked for.
  setup.policy = options.policies.empty() ? core::PagePolicy::k4K : options.policies.front();
  for (const core::PagePolicy p : options.policies)
    if (p == core::PagePolicy::kThp) setup.policy = p;
  setup.cpus = one_cpu_per_core();
  if (setup.cpus.empty()) setup.cpus.push_back(0);

  // 4x the last level for DRAM.
  const std::uint64_t llc = sizing_llc_bytes(machine, options);
  const std::size_t dram_bytes =
      round_working_set(std::max<std::uint64_t>(llc ? 4 * llc : 128 * core::kMiB, 64 * core::kMiB));
  const std::vector<std::size_t> sizes = bandwidth_sizes(machine, options, dram_bytes);
  std::vector<std::size_t> thread_counts = {1};
  if (setup.cpus.size() > 1) thread_counts.push_back(setup.cpus.size());
  std::vector<std::vector<Point>> points_per_count;
  for (const std::size_t threads : thread_counts) {
    points_per_count.push_back(capped_points(sizes, threads, dram_bytes, llc, options));
    for (const Point& point : points_per_count.back())
      if (point.skipped.empty()) setup.arena_bytes = std::max(setup.arena_bytes, point.working_set_bytes * threads);
  }

  // The kernels: the four, then the mixes that have kernels of their own.
  std::vector<core::BandwidthKernel> kernels(std::begin(core::kAllBandwidthKernels),
                                             std::end(core::kAllBandwidthKernels));
  for (const core::BandwidthMix& mix : core::kAllBandwidthMixes)
    if (std::find(kernels.begin(), kernels.end(), mix.kernel) == kernels.end()) kernels.push_back(mix.kernel);
  const bool all_mix_points =
      std::find(options.only_families.begin(), options.only_families.end(), "bandwidth") != options.only_families.end();

  CaseRegistrar cases(options, benchmark::kMillisecond);
  for (const std::vector<Point>& points : points_per_count) {
    const bool all_cores = &points == &points_per_count.back();
    for (const core::BandwidthKernel kernel : kernels) {
      const bool mix_only = std::find(std::begin(core::kAllBandwidthKernels), std::end(core::kAllBandwidthKernels),
                                      kernel) == std::end(core::kAllBandwidthKernels);
      if (mix_only && !all_mix_points && !all_cores) continue;
      for (std::size_t p = 0; p < points.size(); ++p) {
        const Point& point = points[p];
        // The default run: the two largest sets (DRAM, then the last cache level's).
        if (mix_only && !all_mix_points && p + 2 < points.size()) continue;
        const std::size_t threads = point.threads;
        const std::size_t ws = point.working_set_bytes;
        const std::string name =
            fmt::format("bandwidth/{}/threads:{}/{}", core::kernel_name(kernel), threads, compact_bytes(ws));
        if (!point.skipped.empty())
          cases.skip(name, point.skipped);
        else
          cases.add(name, [kernel, threads, ws, setup](benchmark::State& state) {
                 bandwidth_case(state, kernel, threads, ws, setup);
               })->UseManualTime();
      }
    }
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(bandwidth,
                "sequential read/write/copy/nt-write and read:write mix (3:1, 2:1, triad) GB/s per cache level and "
                "DRAM, 1 thread and all cores",
                register_bandwidth);

}  // namespace memprobe::bench
