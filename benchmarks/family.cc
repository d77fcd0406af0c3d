#include "benchmarks/family.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <stdexcept>

#include <fmt/format.h>

#include "core/clock.h"

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

// The protocol of the case under way: the benchmarks run on the harness's
// one pinned thread, one case at a time.
CaseProtocol& protocol() {
  static CaseProtocol instance;
  return instance;
}

// Runs the case function; a std::bad_alloc (or std::length_error) it throws
// fails the case with the reason.
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

}  // namespace

void request_interrupt() { g_interrupt_requested.store(true, std::memory_order_relaxed); }
bool interrupt_requested() { return g_interrupt_requested.load(std::memory_order_relaxed); }

CaseSetup case_setup(const core::Machine& machine, const CaseOptions& options) {
  CaseSetup setup;
  setup.tsc_hz = machine.tsc_hz > 0 ? machine.tsc_hz : core::tsc_hz();
  setup.core_hz = machine.core_clock.hz;
  setup.line_bytes = machine.topology.line_bytes();
  setup.seed = options.seed;
  return setup;
}

void fail_case(benchmark::State& state, const std::string& reason) {
  if (protocol().fail(reason) == CaseProtocol::Failure::kSkip) {
    state.SkipWithError(protocol().first_failure().c_str());
    return;
  }
  state.SetLabel(std::string(kFailedLabelPrefix) + reason);
  // The iteration count the first repetition settled on, with nothing timed.
  for (auto _ : state) state.SetIterationTime(0);
}

benchmark::internal::Benchmark* register_case(const std::string& name,
                                              std::function<void(benchmark::State&)> case_function) {
  return benchmark::RegisterBenchmark(
      name.c_str(), [name, function = std::move(case_function)](benchmark::State& state) {
        const CaseProtocol::Entry entry = protocol().enter(state.max_iterations, interrupt_requested());
        if (!entry.run) {
          state.SkipWithError(entry.skip_reason.c_str());
          return;
        }
        run_case_guarded(state, name, function);
      });
}

void register_skipped_case(const std::string& name, const std::string& reason) {
  benchmark::RegisterBenchmark(name.c_str(), [reason](benchmark::State& state) {
    state.SkipWithError(reason.c_str());
  })->Iterations(1)->Repetitions(1);
}

void mark_case_finished() { protocol().finish(); }

benchmark::internal::Benchmark* CaseRegistrar::add(const std::string& name,
                                                   std::function<void(benchmark::State&)> case_function) {
  ++count_;
  return apply_case_options(register_case(name, std::move(case_function)), options_)->Unit(unit_);
}

void CaseRegistrar::skip(const std::string& name, const std::string& reason) {
  ++count_;
  register_skipped_case(name, reason);
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
