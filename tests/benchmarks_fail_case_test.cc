// A case that cannot be measured in a later repetition (hugetlb pool emptied
// by another process, mmap refused) must not bring the run down: Google
// Benchmark 1.7.1 aborts or crashes on partly skipped repetitions unless the
// failure goes through bench::fail_case. These run real Google Benchmark
// cases through the harness's reporter and collector.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

#include "benchmarks/family.h"
#include "harness/collector.h"

namespace memprobe {
namespace {

// Calls of the failing test case so far; reset per test.
int g_repetition = 0;
int g_calls = 0;
int g_last_repetition = 0;
benchmark::IterationCount g_previous_iterations = 0;

// Which repetition (0-based) a call belongs to: Google Benchmark sizes the
// first repetition with growing iteration counts, later ones reuse the count.
int repetition_of_call(const benchmark::State& state) {
  static int repetition = 0;
  if (g_calls == 0) repetition = 0;
  else if (state.max_iterations <= g_previous_iterations) ++repetition;
  ++g_calls;
  g_previous_iterations = state.max_iterations;
  g_last_repetition = repetition;
  return repetition;
}

struct CollectedRun {
  analysis::Results results;
  std::string progress;
};

CollectedRun run_registered_cases(std::size_t cases) {
  std::ostringstream progress;
  harness::CollectingReporter reporter(cases, progress);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  CollectedRun collected;
  harness::add_runs_to_results(reporter.runs(), collected.results);
  collected.progress = progress.str();
  return collected;
}

// A cheap timed loop, reporting `ns_per_load`.
void measured_loop(benchmark::State& state, double ns_per_load) {
  int x = 0;
  for (auto _ : state) benchmark::DoNotOptimize(++x);
  state.counters["ns_per_load"] = ns_per_load;
}

// A measured case that fails with `reason` (bench::fail_case) on the calls
// `fails` picks.
benchmark::internal::Benchmark* register_failing_case(const std::string& name,
                                                      std::function<bool(const benchmark::State&)> fails,
                                                      const std::string& reason) {
  return bench::register_case(name, [fails = std::move(fails), reason](benchmark::State& state) {
    if (fails(state)) {
      bench::fail_case(state, reason);
      return;
    }
    measured_loop(state, 2.0);
  });
}

// A cheap measured case after the failing one: the run goes on. Every case
// is registered as the families register theirs (bench::register_case).
void register_healthy_case() {
  bench::register_case("failtest/healthy/after", [](benchmark::State& state) {
    measured_loop(state, 1.0);
  })->Repetitions(3)->MinTime(0.001);
}

const analysis::UnavailableFigure* find_unavailable(const analysis::Results& r, const std::string& what) {
  for (const auto& u : r.unavailable)
    if (u.what == what) return &u;
  return nullptr;
}

bool has_case(const analysis::Results& r, const std::string& name) {
  for (const auto& c : r.cases)
    if (c.name == name) return true;
  return false;
}

// The failed case is unavailable as a whole with its reason, and the healthy
// case registered after it was measured: the run went on.
void expect_unavailable_and_run_went_on(const CollectedRun& run, const std::string& name, const std::string& what,
                                        const std::string& reason) {
  EXPECT_FALSE(has_case(run.results, name)) << "a median over the repetitions that ran is not honest";
  const auto* u = find_unavailable(run.results, what);
  ASSERT_NE(u, nullptr) << what;
  EXPECT_EQ(u->reason, reason);
  EXPECT_TRUE(has_case(run.results, "failtest/healthy/after"));
}

// A case failing as register_failing_case says, with `repetitions`
// repetitions of at least min_time_s; unavailable as `what`.
struct FailingCase {
  std::string name;
  std::string what;
  std::string reason;
  int repetitions;
  double min_time_s;
  std::function<bool(const benchmark::State&)> fails;
};

// Runs `c` and the healthy case after it; expects the outcome of
// expect_unavailable_and_run_went_on.
CollectedRun run_failing_case(const FailingCase& c) {
  register_failing_case(c.name, c.fails, c.reason)->Repetitions(c.repetitions)->MinTime(c.min_time_s);
  register_healthy_case();
  CollectedRun run = run_registered_cases(2);
  expect_unavailable_and_run_went_on(run, c.name, c.what, c.reason);
  return run;
}

class FailCaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    benchmark::ClearRegisteredBenchmarks();
    g_repetition = 0;
    g_calls = 0;
    g_previous_iterations = 0;
  }
};

TEST_F(FailCaseTest, LaterRepetitionWithAutomaticIterationsMakesTheCaseUnavailable) {
  const CollectedRun run =
      run_failing_case({"failtest/auto/late", "failtest/auto", "hugetlb pool exhausted (test)", 4, 0.001,
                        [](const benchmark::State& state) { return repetition_of_call(state) == 2; }});
  EXPECT_EQ(g_last_repetition, 3) << "the repetition after the failed one runs as usual";
  EXPECT_NE(run.progress.find("unavailable"), std::string::npos) << run.progress;
}

TEST_F(FailCaseTest, LaterRepetitionWithManualTimeAndOneIterationMakesTheCaseUnavailable) {
  bench::register_case("failtest/manual/late", [](benchmark::State& state) {
    if (g_repetition++ == 1) {
      bench::fail_case(state, "mmap refused (test)");
      return;
    }
    for (auto _ : state) state.SetIterationTime(1e-6);
    state.counters["us_per_fault"] = 1.0;
  })->UseManualTime()->Iterations(1)->Repetitions(5);
  register_healthy_case();

  const CollectedRun run = run_registered_cases(2);
  expect_unavailable_and_run_went_on(run, "failtest/manual/late", "failtest/manual", "mmap refused (test)");
}

TEST_F(FailCaseTest, FailureWhileTheFirstRepetitionIsSizedMakesTheCaseUnavailable) {
  // The second call of the first repetition (a longer try of the same one).
  // MinTime 50 ms: a first call of one cheap iteration is never long enough,
  // so Google Benchmark always sizes the first repetition again.
  run_failing_case({"failtest/sizing/fails", "failtest/sizing", "refused while sizing (test)", 3, 0.05,
                    [](const benchmark::State&) { return g_calls++ == 1; }});
  EXPECT_EQ(g_calls, 2) << "after the failure the case body must not run again";
}

TEST_F(FailCaseTest, FirstRepetitionFailureSkipsTheLaterOnesWithTheSameReason) {
  // The later repetitions would succeed (the pool came back): they must still
  // skip, or their iteration counts would disagree with the skipped first one.
  run_failing_case({"failtest/first/fails", "failtest/first", "pool empty at first (test)", 3, 0.001,
                    [](const benchmark::State&) { return g_repetition++ == 0; }});
  EXPECT_EQ(g_repetition, 1) << "later repetitions must not reach the case body";
}

}  // namespace
}  // namespace memprobe
