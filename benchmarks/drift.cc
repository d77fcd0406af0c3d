// Drift: the latency family's level figures re-measured at the end of the
// run. Each level's working set (the point its figure was read from) is
// chased again with the same pattern, page policy and seed in a fresh buffer,
// so the change says how far the machine itself moved while the run went on
// (a VM host's other tenants, its memory placement) -- the floor under any
// difference between two runs.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "core/buffer.h"
#include "core/machine.h"

namespace memprobe::bench {
namespace {

constexpr int kDriftRepetitions = 5;

struct DriftSetup : CaseSetup {
  std::size_t group_pages = 32;
  core::PagePolicy policy = core::PagePolicy::k4K;
};

// One buffer at a time: a case's buffer is replaced by the next case's.
struct DriftChain {
  std::string level;
  std::optional<core::Buffer> buffer;
  PreparedChain prepared;
};

void drift_case(benchmark::State& state, DriftChain& slot, const LevelFigure& figure, const DriftSetup& setup) {
  if (slot.level != figure.level || !slot.buffer) {
    slot.buffer.reset();
    auto buffer = core::Buffer::allocate(figure.working_set_bytes, setup.policy);
    if (!buffer) {
      fail_case(state, buffer.error().reason);
      return;
    }
    slot.buffer = std::move(*buffer);
    slot.level = figure.level;
    slot.prepared = prepare_latency_chain(slot.buffer->bytes().first(figure.working_set_bytes), *slot.buffer,
                                          setup.line_bytes, setup.group_pages, setup.seed);
  }
  PreparedChain& p = slot.prepared;
  p.position = run_timed_chase(state, p.position, setup.clocks());
  state.SetLabel(format_case_label(with_backing({{"page", std::string(core::cli_name(setup.policy))},
                                                  {"level", figure.level},
                                                  {"working_set_bytes", std::to_string(figure.working_set_bytes)},
                                                  {"stride_bytes", std::to_string(setup.line_bytes)},
                                                  {"tlb_method", latency_tlb_method(setup.group_pages)},
                                                  {"seed", std::to_string(p.chain.seed)}},
                                                 *p.backing)));
}

std::size_t register_drift(const core::Machine& machine, const CaseOptions& options) {
  // At least kDriftRepetitions: a handful of cases, each a median that one
  // disturbed repetition must not move (--quick takes 3 elsewhere).
  CaseOptions drift_options = options;
  if (drift_options.repetitions > 0) drift_options.repetitions = std::max(drift_options.repetitions, kDriftRepetitions);
  CaseRegistrar cases(drift_options, benchmark::kMillisecond);
  const MeasuredSizes& measured = options.measured;
  const auto policy = core::parse_page_policy(measured.latency_page);
  if (measured.level_figures.empty() || !policy) {
    cases.skip("drift", "skipped: drift re-measures the latency family's level figures at the end of the run; "
                        "it needs latency in the same run (--only latency,drift)");
    return cases.count();
  }
  DriftSetup setup{case_setup(machine, options)};
  setup.group_pages = page_group_pages(machine);
  setup.policy = *policy;
  auto slot = std::make_shared<DriftChain>();
  // Outermost level first: whatever the family before left running (pagefault
  // frees GiBs) settles during the DRAM case, whose own noise is the largest,
  // not during the nanosecond-scale L1 one.
  for (auto figure_it = measured.level_figures.rbegin(); figure_it != measured.level_figures.rend(); ++figure_it) {
    const LevelFigure& figure = *figure_it;
    cases.add(fmt::format("drift/{}/{}", core::cli_name(*policy), figure.level),
              [slot, figure, setup](benchmark::State& state) { drift_case(state, *slot, figure, setup); });
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY(drift,
                "the latency family's level figures re-measured at the end of the run: how far the machine moved",
                register_drift);

}  // namespace memprobe::bench
