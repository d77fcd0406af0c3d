// Shared by the bandwidth and loaded-latency families: one logical CPU per
// core, and a pool of pinned worker threads that run a job together.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace memprobe::bench {

// The CPUs this process may run on (core::inherited_cpus: taskset, cgroup
// cpuset), one per physical core (the lowest logical CPU of each
// thread_siblings_list), ascending.
std::vector<int> one_cpu_per_core();
// The lowest logical CPU sharing a core with `cpu` (cpu itself if unknown).
int core_leader(int cpu);

// Worker threads, each pinned to its CPU, parked between rounds. run() starts
// a round: every worker waits at a spin barrier, then times job(index) with
// the TSC. The destructor stops and joins them.
class WorkerPool {
 public:
  // Unavailable if a worker cannot be pinned (the threads are joined then).
  static core::Result<std::unique_ptr<WorkerPool>> start(const std::vector<int>& cpus);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs job(i) on worker i, all at once; returns each worker's TSC ticks.
  std::vector<std::uint64_t> run(const std::function<void(std::size_t)>& job);
  std::size_t size() const { return threads_.size(); }

 private:
  WorkerPool() = default;
  void worker(std::size_t index, int cpu);

  std::vector<std::thread> threads_;
  std::vector<std::uint64_t> ticks_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> arrived_{0};
  std::atomic<std::size_t> done_{0};
  std::atomic<std::size_t> ready_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::string> pin_errors_;
};

// Times `job` on every worker once per benchmark iteration (manual time):
// a round lasts as long as its slowest thread. Returns the seconds summed
// over the iterations.
double time_worker_rounds(benchmark::State& state, WorkerPool& pool, const std::function<void(std::size_t)>& job,
                          double tsc_hz);

}  // namespace memprobe::bench
