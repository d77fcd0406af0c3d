// Loaded latency: the DRAM-sized random chase on this (pinned) CPU while one
// thread per other core reads its own DRAM-sized buffer at a duty cycle of
// 0-100 % (read for duty x 100 us, then pause for the rest of the period).
// Reports ns_per_load and the background's measured gb_per_s per intensity.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "benchmarks/arena.h"
#include "benchmarks/bandwidth_workers.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/bandwidth_kernels.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/chase.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/topology.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

constexpr std::size_t kLoadsPerIteration = 4096;
constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;
// The background's duty-cycle period and the bytes it reads between clock checks.
constexpr double kPeriodSeconds = 100e-6;
constexpr std::size_t kChunkBytes = 64 * core::kKiB;

struct LoadedSetup : CaseSetup {
  std::size_t working_set_bytes = 0;   // the chase's
  std::size_t background_bytes = 0;    // each background thread's buffer
};

// The chase's chain in the shared arena (THP if verified, else 4 KiB),
// warmed up once built.
core::Result<DramChain*> prepare_chase(DramChain& chase, const LoadedSetup& setup) {
  auto rebuilt = prepare_dram_chain("loaded", setup.working_set_bytes, setup.line_bytes, setup.seed, chase);
  if (!rebuilt) return rebuilt.error();
  if (*rebuilt) chase.position = core::memprobe_chase(chase.chain.head, std::min(chase.chain.length, kMaxWarmupLoads));
  return &chase;
}

// Background readers: started by the constructor, stopped and joined by the
// destructor on every path (fail_case, interruption, exceptions).
class Background {
 public:
  Background(std::vector<core::Buffer> buffers, const std::vector<int>& cpus, int intensity_pct, double tsc_hz)
      : buffers_(std::move(buffers)) {
    const auto period_ticks = static_cast<std::uint64_t>(kPeriodSeconds * tsc_hz);
    const std::uint64_t busy_ticks = period_ticks * static_cast<std::uint64_t>(intensity_pct) / 100;
    for (std::size_t i = 0; i < cpus.size(); ++i)
      threads_.emplace_back([this, i, cpu = cpus[i], period_ticks, busy_ticks] { run(i, cpu, period_ticks, busy_ticks); });
    for (std::size_t r = ready_.load(); r < cpus.size(); r = ready_.load()) ready_.wait(r);
  }
  ~Background() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  std::uint64_t bytes_read() const { return bytes_.load(std::memory_order_relaxed); }
  const std::string& pin_error() const { return pin_error_; }

 private:
  void run(std::size_t index, int cpu, std::uint64_t period_ticks, std::uint64_t busy_ticks) {
    auto pinned = core::pin_current_thread(cpu);
    if (!pinned && index == 0) pin_error_ = pinned.error().reason;
    ready_.fetch_add(1);
    ready_.notify_all();
    if (!pinned) return;
    const core::BandwidthKernels kernels = core::widest_kernels();
    const core::Buffer& buffer = buffers_[index];
    const std::size_t chunks = buffer.size_bytes() / kChunkBytes;
    std::size_t chunk = 0;
    std::uint64_t sum = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      const std::uint64_t period_start = core::tsc_begin();
      // Busy part: stream through the buffer (it wraps), a chunk at a time.
      while (busy_ticks > 0 && core::tsc_begin() - period_start < busy_ticks) {
        sum += kernels.read(buffer.data() + chunk * kChunkBytes, kChunkBytes);
        bytes_.fetch_add(kChunkBytes, std::memory_order_relaxed);
        chunk = chunk + 1 == chunks ? 0 : chunk + 1;
      }
      // Idle part: spin without touching memory.
      while (core::tsc_begin() - period_start < period_ticks) {
#if defined(__x86_64__)
        _mm_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
      }
    }
    benchmark::DoNotOptimize(sum);
  }

  std::vector<core::Buffer> buffers_;
  std::vector<std::thread> threads_;
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::size_t> ready_{0};
  std::atomic<bool> stop_{false};
  std::string pin_error_;
};

void loaded_case(benchmark::State& state, DramChain& chase_state, int intensity_pct,
                 const LoadedSetup& setup) {
  // Background on one CPU per core other than this thread's core.
  const int here = core::current_cpu();
  std::vector<int> others;
  for (const int cpu : one_cpu_per_core())
    if (core_leader(cpu) != core_leader(here)) others.push_back(cpu);
  if (others.empty()) {
    fail_case(state, "needs at least 2 CPUs (cores): the background load runs on the other cores");
    return;
  }
  auto chase = prepare_chase(chase_state, setup);
  if (!chase) {
    fail_case(state, chase.error().reason);
    return;
  }
  DramChain& c = **chase;

  std::vector<core::Buffer> buffers;
  if (intensity_pct > 0) {
    for (std::size_t i = 0; i < others.size(); ++i) {
      // THP where it can: the prefetchers stop at 4 KiB page boundaries, and
      // on a VM every 4 KiB page costs a two-dimensional walk.
      auto b = core::Buffer::allocate(setup.background_bytes, core::PagePolicy::kThp);
      if (!b) b = core::Buffer::allocate(setup.background_bytes, core::PagePolicy::k4K);
      if (!b) {
        fail_case(state, b.error().reason);
        return;
      }
      buffers.push_back(std::move(*b));
    }
  } else {
    others.clear();  // 0 %: no background threads at all
  }
  const std::string background_backing = buffers.empty() ? std::string("none") : buffers.front().backing().verified;
  Background background(std::move(buffers), others, intensity_pct, setup.tsc_hz);
  if (!background.pin_error().empty()) {
    fail_case(state, background.pin_error());
    return;
  }

  void* position = c.position;
  const std::uint64_t start_bytes = background.bytes_read();
  const std::uint64_t start_ticks = core::tsc_begin();
  for (auto _ : state) position = core::memprobe_chase(position, kLoadsPerIteration);
  const std::uint64_t end_ticks = core::tsc_end();
  const std::uint64_t end_bytes = background.bytes_read();
  benchmark::DoNotOptimize(position);
  c.position = position;

  const double seconds = static_cast<double>(end_ticks - start_ticks) / setup.tsc_hz;
  const double loads = static_cast<double>(state.iterations()) * kLoadsPerIteration;
  report_per_load(state, seconds, loads, setup.clocks());
  state.counters["background_gb_per_s"] = static_cast<double>(end_bytes - start_bytes) / seconds / 1e9;
  state.SetLabel(format_case_label(with_backing({
      {"intensity_pct", std::to_string(intensity_pct)},
      {"background_threads", std::to_string(others.size())},
      {"working_set_bytes", std::to_string(setup.working_set_bytes)},
      {"background_bytes", std::to_string(setup.background_bytes)},
      {"background_backing", background_backing},
      {"vector", std::string(core::widest_vector_name())},
      {"page", c.page},
      {"seed", std::to_string(c.chain.seed)},
  }, *c.backing)));
}

std::size_t register_loaded(const core::Machine& machine, const CaseOptions& options) {
  LoadedSetup setup{case_setup(machine, options)};
  const std::uint64_t llc = sizing_llc_bytes(machine, options);
  const DramChaseWorkingSet ws = dram_chase_working_set(llc, options, "loaded (a DRAM chase, 2x the LLC)");
  setup.working_set_bytes = ws.bytes;
  // Each background reader streams 2x the LLC: DRAM traffic, not LLC hits.
  setup.background_bytes =
      capped_working_set(std::max<std::uint64_t>(llc ? 2 * llc : 64 * core::kMiB, 16 * core::kMiB), options) /
      kChunkBytes * kChunkBytes;
  const std::string& capped_out = ws.skip_reason;

  const std::vector<int> intensities =
      options.quick ? std::vector<int>{0, 50, 100} : std::vector<int>{0, 25, 50, 75, 100};
  // The chase's chain lives as long as these cases.
  auto chase_state = std::make_shared<DramChain>();
  CaseRegistrar cases(options, benchmark::kMillisecond);
  for (const int pct : intensities) {
    const std::string name = fmt::format("loaded/intensity:{}", pct);
    if (!capped_out.empty())
      cases.skip(name, capped_out);
    else
      cases.add(name, [chase_state, pct, setup](benchmark::State& state) {
        loaded_case(state, *chase_state, pct, setup);
      });
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(loaded, "DRAM chase latency while the other cores read at 0-100 % duty: latency vs background GB/s",
                register_loaded);

}  // namespace memprobe::bench
