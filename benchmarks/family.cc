#include "benchmarks/family.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace memprobe::bench {
namespace {

// Function-local so registration from other translation units' static
// initialisers never runs before the vector exists.
std::vector<Family>& registry() {
  static std::vector<Family> families;
  return families;
}

// Lock-free, so setting it from a signal handler is safe.
std::atomic<bool> g_interrupt_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
// Set by the first repetition of a case, cleared when the reporter has it all.
bool g_case_in_progress = false;
// Google Benchmark calls a case function several times in its first
// repetition (growing iteration counts, until the time is long enough) and
// once per later repetition, with the count the first one settled on: a call
// whose count does not exceed the previous call's starts a later repetition.
benchmark::IterationCount g_previous_call_iterations = 0;
bool g_case_in_later_repetition = false;
// The reason the current case's first repetition failed; empty if it did not.
std::string g_case_first_failure;
}  // namespace

void request_interrupt() { g_interrupt_requested.store(true, std::memory_order_relaxed); }
bool interrupt_requested() { return g_interrupt_requested.load(std::memory_order_relaxed); }

bool skip_if_interrupted(benchmark::State& state) {
  if (!g_case_first_failure.empty()) {
    // Skipped before the loop like the first one, so the counts agree.
    state.SkipWithError(g_case_first_failure.c_str());
    return true;
  }
  if (!interrupt_requested() || g_case_in_progress) {
    if (g_case_in_progress && state.max_iterations <= g_previous_call_iterations) g_case_in_later_repetition = true;
    g_previous_call_iterations = state.max_iterations;
    g_case_in_progress = true;
    return false;
  }
  state.SkipWithError(kInterruptedMessage);
  return true;
}

void fail_case(benchmark::State& state, const std::string& reason) {
  if (!g_case_in_later_repetition) {
    g_case_first_failure = reason.empty() ? std::string("failed") : reason;
    state.SkipWithError(g_case_first_failure.c_str());
    return;
  }
  state.SetLabel(std::string(kFailedLabelPrefix) + reason);
  // The iteration count the first repetition settled on, with nothing timed.
  for (auto _ : state) state.SetIterationTime(0);
}

void run_case_guarded(benchmark::State& state, const std::string& name,
                      const std::function<void(benchmark::State&)>& case_function) {
  try {
    case_function(state);
  } catch (const std::bad_alloc& e) {
    fail_case(state, fmt::format("{}: cannot allocate memory for the case ({}): the address-space limit (ulimit -v) "
                                 "or the memory available is too small for it",
                                 name, e.what()));
  } catch (const std::length_error& e) {
    fail_case(state, fmt::format("{}: cannot allocate memory for the case ({})", name, e.what()));
  }
}

benchmark::internal::Benchmark* register_case(const std::string& name,
                                              std::function<void(benchmark::State&)> case_function) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [name, function = std::move(case_function)](benchmark::State& state) {
                                        run_case_guarded(state, name, function);
                                      });
}

void mark_case_finished() {
  g_case_in_progress = false;
  g_case_in_later_repetition = false;
  g_previous_call_iterations = 0;
  g_case_first_failure.clear();
}

benchmark::internal::Benchmark* apply_case_options(benchmark::internal::Benchmark* b,
                                                   const CaseOptions& options) {
  if (options.repetitions > 0) b->Repetitions(options.repetitions);
  if (options.min_time_s > 0) b->MinTime(options.min_time_s);
  return b;
}

bool add_family(const Family& family) {
  registry().push_back(family);
  return true;
}

std::vector<Family> families() {
  std::vector<Family> sorted = registry();
  std::sort(sorted.begin(), sorted.end(),
            [](const Family& a, const Family& b) { return a.name < b.name; });
  return sorted;
}

const Family* find_family(std::string_view name) {
  for (const Family& f : registry())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace memprobe::bench
