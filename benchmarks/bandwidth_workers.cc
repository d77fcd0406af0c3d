#include "benchmarks/bandwidth_workers.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "core/clock.h"
#include "core/topology.h"

namespace memprobe::bench {

int core_leader(int cpu) {
  std::ifstream in("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
  int first = -1;
  // "0-1", "0,8" or "3": the first number is the lowest sibling.
  if (in >> first && first >= 0) return first;
  return cpu;
}

std::vector<int> one_cpu_per_core() {
  std::vector<int> out;
  std::set<int> leaders;
  for (const int cpu : core::inherited_cpus())
    if (leaders.insert(core_leader(cpu)).second) out.push_back(cpu);
  return out;
}

core::Result<std::unique_ptr<WorkerPool>> WorkerPool::start(const std::vector<int>& cpus) {
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->ticks_.assign(cpus.size(), 0);
  pool->pin_errors_.assign(cpus.size(), std::string());
  for (std::size_t i = 0; i < cpus.size(); ++i) pool->threads_.emplace_back(&WorkerPool::worker, pool.get(), i, cpus[i]);
  // Wait until every worker has pinned itself (or failed to).
  for (std::size_t r = pool->ready_.load(); r < cpus.size(); r = pool->ready_.load()) pool->ready_.wait(r);
  for (const std::string& e : pool->pin_errors_)
    if (!e.empty()) return core::Unavailable{e};  // the destructor joins
  return pool;
}

WorkerPool::~WorkerPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::worker(std::size_t index, int cpu) {
  auto pinned = core::pin_current_thread(cpu);
  if (!pinned) pin_errors_[index] = pinned.error().reason;
  ready_.fetch_add(1);
  ready_.notify_all();
  const std::uint64_t n = ticks_.size();  // assigned before any worker starts
  std::uint64_t seen = 0;
  for (;;) {
    generation_.wait(seen);
    seen = generation_.load();
    if (stop_.load()) return;
    // Spin barrier (cumulative count, so it needs no reset): the workers
    // start the timed job together.
    const std::uint64_t target = n * seen;
    arrived_.fetch_add(1);
    while (arrived_.load(std::memory_order_acquire) < target) {
    }
    const std::uint64_t t0 = core::tsc_begin();
    (*job_)(index);
    ticks_[index] = core::tsc_end() - t0;
    done_.fetch_add(1);
    done_.notify_all();
  }
}

std::vector<std::uint64_t> WorkerPool::run(const std::function<void(std::size_t)>& job) {
  job_ = &job;
  done_.store(0);
  generation_.fetch_add(1);
  generation_.notify_all();
  // Blocks in the kernel: the caller may share a CPU with a worker.
  for (std::size_t d = done_.load(); d < threads_.size(); d = done_.load()) done_.wait(d);
  return ticks_;
}

double time_worker_rounds(benchmark::State& state, WorkerPool& pool, const std::function<void(std::size_t)>& job,
                          double tsc_hz) {
  double seconds = 0;
  for (auto _ : state) {
    const std::vector<std::uint64_t> ticks = pool.run(job);
    const double round_s = static_cast<double>(*std::max_element(ticks.begin(), ticks.end())) / tsc_hz;
    state.SetIterationTime(round_s);
    seconds += round_s;
  }
  return seconds;
}

}  // namespace memprobe::bench
