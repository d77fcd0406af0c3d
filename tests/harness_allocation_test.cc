// A failing allocation fails its case, not the run (issue 13 row 9): the
// guard every family registers its cases behind (bench::register_case), in
// process with Google Benchmark, and the real binary under an address-space
// limit that the chain's node vector does not fit in.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <new>
#include <sstream>
#include <string>

#include "analysis/results_json.h"
#include "benchmarks/family.h"
#include "core/machine.h"
#include "core/units.h"
#include "harness/collector.h"
#include "tests/command_runner.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

// Calls of a case function so far, and the previous call's iteration count:
// Google Benchmark grows the count in the first repetition and reuses it in
// the later ones, so a count that does not grow starts a later repetition.
struct RepetitionCounter {
  int repetition = 0;
  int calls = 0;
  benchmark::IterationCount previous = 0;
  int next(const benchmark::State& state) {
    if (calls++ > 0 && state.max_iterations <= previous) ++repetition;
    previous = state.max_iterations;
    return repetition;
  }
};

analysis::Results run_registered(std::size_t cases) {
  std::ostringstream progress;
  harness::CollectingReporter reporter(cases, progress);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  analysis::Results results;
  harness::add_runs_to_results(reporter.runs(), results);
  return results;
}

void measured_loop(benchmark::State& state) {
  int x = 0;
  for (auto _ : state) benchmark::DoNotOptimize(++x);
  state.counters["ns_per_load"] = 1.0;
}

TEST(AllocationFailureTest, BadAllocFailsOnlyItsCaseInAnyRepetition) {
  benchmark::ClearRegisteredBenchmarks();
  // Throws in its first repetition, before the loop.
  bench::register_case("alloctest/first/x", [](benchmark::State&) {
    throw std::bad_alloc();
  })->Repetitions(3)->MinTime(0.001);
  // Throws in its third repetition only.
  static RepetitionCounter counter;
  counter = {};
  bench::register_case("alloctest/later/x", [](benchmark::State& state) {
    if (counter.next(state) == 2) throw std::bad_alloc();
    measured_loop(state);
  })->Repetitions(3)->MinTime(0.001);
  bench::register_case("alloctest/healthy/after", [](benchmark::State& state) {
    measured_loop(state);
  })->Repetitions(3)->MinTime(0.001);

  const analysis::Results results = run_registered(3);
  ASSERT_EQ(results.cases.size(), 1u) << "only the healthy case has figures";
  EXPECT_EQ(results.cases[0].name, "alloctest/healthy/after");
  ASSERT_EQ(results.unavailable.size(), 2u);
  for (const auto& u : results.unavailable) {
    SCOPED_TRACE(u.what);
    EXPECT_NE(u.reason.find("cannot allocate memory for the case"), std::string::npos) << u.reason;
    EXPECT_NE(u.reason.find(u.what + "/x: "), std::string::npos) << "the reason names the case: " << u.reason;
  }
  EXPECT_GE(counter.repetition, 2) << "the later-repetition failure was exercised";
}

// The real binary: an address-space limit just above what the run maps once
// its arena is there, so the largest point's chain order (a std::vector of
// one size_t per 64-byte node: 1/8 of the working set) cannot be
// allocated. That case is unavailable with the reason; the run exits 0
// with a valid file and the smaller points measured.
TEST(AllocationFailureTest, ChainVectorBeyondTheAddressSpaceLimitFailsOnlyThatCase) {
  if (const std::string reason = testing::address_space_limit_unavailable_reason(); !reason.empty())
    GTEST_SKIP() << reason;
  const auto available = core::mem_available_bytes();
  if (!available || *available < core::kGiB) GTEST_SKIP() << "--max-working-set 256MiB needs 512 MiB MemAvailable";
  const fs::path dir = testing::make_temp_dir("memprobe-alloc");
  const std::string run = " run --only latency --quick --pages 4k --max-working-set 256MiB --seed 1";

  // The address space the run uses once its first case completed (the
  // 256 MiB arena is mapped by then; chain vectors are freed after use).
  const auto probe = testing::run_after_first_case(kMemprobe + run + " >/dev/null",
                                                   "grep VmSize /proc/$pid/status; kill -KILL $pid");
  std::istringstream vm(probe.out);
  std::string label;
  std::uint64_t vm_kib = 0;
  vm >> label >> vm_kib;
  ASSERT_EQ(label, "VmSize:") << probe.out << probe.err;
  ASSERT_GT(vm_kib, 256u * 1024) << "the arena is not mapped yet";

  // 16 MiB of room: the 256 MiB point needs 32 MiB for its chain order.
  const std::uint64_t limit = vm_kib * 1024 + 16 * core::kMiB;
  const fs::path file = dir / "r.json";
  const auto r = run_command_line("prlimit --as=" + std::to_string(limit) + " " + kMemprobe + run + " --out " +
                                  file.string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const analysis::Results results = analysis::load_results(file.string());
  bool named = false;
  for (const auto& u : results.unavailable)
    named |= u.reason.find("latency/4k/256MiB: cannot allocate memory for the case") != std::string::npos;
  EXPECT_TRUE(named) << r.out;
  std::size_t measured = 0;
  for (const auto& c : results.cases) {
    measured += c.family == "latency";
    EXPECT_NE(c.name, "latency/4k/256MiB") << "measured although its chain could not be built";
  }
  EXPECT_GT(measured, 0u) << "the smaller points were measured";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
