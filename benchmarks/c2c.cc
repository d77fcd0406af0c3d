// Core-to-core latency: two threads pinned to logical CPUs a and b bounce one
// cache line. a writes an odd sequence number n (release), b waits for it
// (acquire) and answers n + 1, a waits for that: each round trip moves the
// line a -> b -> a, so one way is half a round trip. Every ordered pair of
// the CPUs this process may use (core::inherited_cpus), or past
// kC2cPairBudget a deterministic sample (benchmarks/c2c_pairs.h); each case
// says what the pair shares (hwloc: same core, same L3, other L3, other
// socket) and whether one NUMA node holds both.
//
// The threads are a WorkerPool (benchmarks/bandwidth_workers.h): pinned when
// the case starts, joined when it ends on every path, so the harness's own
// thread keeps its pinning and nothing stays pinned after an interruption.
//
// The timed loops are benchmarks/c2c_kernel.cc (its comment quotes their
// disassembly).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "benchmarks/bandwidth_workers.h"
#include "benchmarks/c2c_kernel.h"
#include "benchmarks/c2c_pairs.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/topology.h"

namespace memprobe::bench {

// The line: 128-byte aligned and padded, so it is alone on its 64-byte line
// and on the 128-byte pair the adjacent-line prefetchers fetch together.
struct alignas(128) BouncedLine {
  std::atomic<std::uint64_t> sequence{0};
  char padding[128 - sizeof(std::atomic<std::uint64_t>)] = {};
};
static_assert(sizeof(BouncedLine) == 128);

}  // namespace memprobe::bench

namespace memprobe::bench {
namespace {

// Round trips per timed job: ~100-400 ns each on today's machines, so a job
// is tens of microseconds, far above the pool's start barrier.
constexpr std::uint64_t kRoundTrips = 2000;
constexpr std::uint64_t kWarmupRoundTrips = 200;

void c2c_case(benchmark::State& state, const C2cPair& pair, std::size_t measured, std::size_t total, double tsc_hz) {
  auto started = WorkerPool::start({pair.a, pair.b});
  if (!started) {
    fail_case(state, started.error().reason);
    return;
  }
  WorkerPool& pool = **started;
  const auto line = std::make_unique<BouncedLine>();
  std::uint64_t from = 0;
  const auto job = [&](std::size_t index, std::uint64_t trips) {
    if (index == 0)
      memprobe_c2c_ping(&line->sequence, from, trips);
    else
      memprobe_c2c_pong(&line->sequence, from, trips);
  };
  // Warm-up: both threads running on their CPUs, the line in one of the caches.
  pool.run([&](std::size_t i) { job(i, kWarmupRoundTrips); });
  from += 2 * kWarmupRoundTrips;

  std::uint64_t ping_ticks = 0, round_trips = 0;
  for (auto _ : state) {
    ping_ticks += pool.run([&](std::size_t i) { job(i, kRoundTrips); })[0];
    from += 2 * kRoundTrips;
    round_trips += kRoundTrips;
  }
  if (round_trips == 0) return;
  const double one_way_s = static_cast<double>(ping_ticks) / tsc_hz / (2.0 * static_cast<double>(round_trips));
  state.counters["one_way_ns"] = one_way_s * 1e9;
  state.counters["round_trip_ns"] = 2 * one_way_s * 1e9;
  state.SetLabel(format_case_label({
      {"a_cpu", std::to_string(pair.a)},
      {"b_cpu", std::to_string(pair.b)},
      {"shares", c2c_sharing_key(pair)},
      {"numa", !pair.shares ? "unknown" : pair.shares->same_numa ? "same" : "other"},
      {"group_pairs", std::to_string(pair.group_pairs)},
      {"pairs_measured", std::to_string(measured)},
      {"pairs_total", std::to_string(total)},
      {"round_trips_per_job", std::to_string(kRoundTrips)},
  }));
}

std::size_t register_c2c(const core::Machine& machine, const CaseOptions& options) {
  const CaseSetup setup = case_setup(machine, options);
  CaseRegistrar cases(options, benchmark::kMicrosecond);
  // --cpus (checked against the mask by the harness), else the whole mask.
  const std::vector<int>& cpus = options.cpus.empty() ? core::inherited_cpus() : options.cpus;
  if (cpus.size() < 2) {
    cases.skip("c2c/pairs",
               options.cpus.empty()
                   ? fmt::format("needs two CPUs: this process may run only on CPU {} (taskset, cgroup cpuset)",
                                 core::inherited_cpus_list())
                   : fmt::format("needs two CPUs: --cpus names only CPU {}", options.cpus.front()));
    return cases.count();
  }
  const C2cPlan plan = plan_c2c_pairs(cpus, machine.topology);
  if (!plan.sampling.empty())
    fmt::print(stderr, "c2c: {}\n", plan.sampling);
  for (const C2cPair& pair : plan.pairs)
    cases.add(fmt::format("c2c/cpu:{}/cpu:{}", pair.a, pair.b),
              [pair, measured = plan.pairs.size(), total = plan.total_pairs, tsc_hz = setup.tsc_hz](
                  benchmark::State& state) { c2c_case(state, pair, measured, total, tsc_hz); });
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(c2c, "core-to-core latency: two pinned threads bounce one cache line, every allowed CPU pair",
                          register_c2c);

}  // namespace memprobe::bench
