// Drift: the latency family's level figures re-measured at the end of the
// run. Each level's working set (the point its figure was read from) is
// chased again with the same pattern, page policy and seed in a fresh buffer,
// so the change says how far the machine itself moved while the run went on
// (a VM host's other tenants, its memory placement) -- the floor under any
// difference between two runs.
//
// Beside them, each detected cache size (a knee of the latency curve) is
// re-checked: the same chain at a working set just below and just above it
// (analysis/families/drift.h decides whether the knee held or moved).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <numbers>
#include <optional>
#include <string>
#include <utility>

#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "core/buffer.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

constexpr int kDriftRepetitions = 5;

struct DriftSetup : CaseSetup {
  std::size_t group_pages = 32;
  core::PagePolicy policy = core::PagePolicy::k4K;
};

// What one drift case chases: a level's figure point, or a point just below
// or just above its knee.
struct DriftPoint {
  std::string name;   // the case name: which buffer a slot holds
  std::string level;  // "L1", ..., "DRAM"
  std::uint64_t working_set_bytes = 0;
  std::map<std::string, std::string> knee_params;  // knee_check, knee_bytes; empty for a figure point
};

// One buffer at a time: a case's buffer is replaced by the next case's.
struct DriftChain {
  std::string name;
  std::optional<core::Buffer> buffer;
  PreparedChain prepared;
};

void drift_case(benchmark::State& state, DriftChain& slot, const DriftPoint& point, const DriftSetup& setup) {
  if (slot.name != point.name || !slot.buffer) {
    slot.buffer.reset();
    auto buffer = core::Buffer::allocate(point.working_set_bytes, setup.policy);
    if (!buffer) {
      fail_case(state, buffer.error().reason);
      return;
    }
    slot.buffer = std::move(*buffer);
    slot.name = point.name;
    slot.prepared = prepare_latency_chain(slot.buffer->bytes().first(point.working_set_bytes), *slot.buffer,
                                          setup.line_bytes, setup.group_pages, setup.seed);
  }
  PreparedChain& p = slot.prepared;
  p.position = run_timed_chase(state, p.position, setup.clocks());
  std::map<std::string, std::string> params = {{"page", std::string(core::cli_name(setup.policy))},
                                               {"level", point.level},
                                               {"working_set_bytes", std::to_string(point.working_set_bytes)},
                                               {"stride_bytes", std::to_string(setup.line_bytes)},
                                               {"tlb_method", latency_tlb_method(setup.group_pages)},
                                               {"seed", std::to_string(p.chain.seed)}};
  params.insert(point.knee_params.begin(), point.knee_params.end());
  state.SetLabel(format_case_label(with_backing(std::move(params), *p.backing)));
}

// The knee check's working sets: half an octave either side of the detected
// size (C / 2^(1/2), C * 2^(1/2)). A knee is the last sweep point still below
// the midpoint of its step (analysis/knees.h), so the crossing lies between it
// and the next grid point: with --quick's 2 points per octave that next point
// is C * 2^(1/2), so half an octave is the sweep's own resolution and a knee
// it places one grid step off still holds. A whole octave either side would
// miss the smaller moves a VM guest's L3 knee shows within hours.
constexpr double kKneeCheckFactor = std::numbers::sqrt2;

// A knee point's working set: whole lines, at least two.
std::uint64_t knee_point_bytes(double bytes, std::size_t line_bytes) {
  const auto lines = static_cast<std::uint64_t>(bytes / static_cast<double>(line_bytes));
  return std::max<std::uint64_t>(lines, 2) * line_bytes;
}

std::size_t register_drift(const core::Machine& machine, const CaseOptions& options) {
  // At least kDriftRepetitions: a handful of cases, each a median that one
  // disturbed repetition must not move (--quick takes 3 elsewhere).
  CaseOptions drift_options = options;
  if (drift_options.repetitions > 0) drift_options.repetitions = std::max(drift_options.repetitions, kDriftRepetitions);
  // The knee checks take the drift count (--quick: its own, fewer) at half
  // the time per repetition: each decides on which side of a step's midpoint
  // a median lies, which needs less than a figure read to a few per cent, and
  // the run has about half a second (--quick: a tenth of one) for 2 more
  // cases per level, whose set-up (a fresh buffer, a warm-up lap) costs as
  // much again.
  CaseOptions knee_options = options.quick ? options : drift_options;
  knee_options.min_time_s /= 2;
  CaseRegistrar cases(drift_options, benchmark::kMillisecond);
  CaseRegistrar knee_cases(knee_options, benchmark::kMillisecond);
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
  const auto add = [&](CaseRegistrar& registrar, const DriftPoint& point) {
    registrar.add(point.name, [slot, point, setup](benchmark::State& state) { drift_case(state, *slot, point, setup); });
  };
  const std::string page(core::cli_name(*policy));
  // Outermost level first: whatever the family before left running (pagefault
  // frees GiBs) settles during the DRAM case, whose own noise is the largest,
  // not during the nanosecond-scale L1 one.
  for (auto figure_it = measured.level_figures.rbegin(); figure_it != measured.level_figures.rend(); ++figure_it)
    add(cases, {fmt::format("drift/{}/{}", page, figure_it->level), figure_it->level, figure_it->working_set_bytes, {}});
  // Then each knee, outermost first as well, above before below.
  for (auto knee_it = measured.level_knees.rbegin(); knee_it != measured.level_knees.rend(); ++knee_it) {
    const double knee_bytes = static_cast<double>(knee_it->detected_bytes);
    for (const auto& [side, bytes] : {std::pair{"above", knee_bytes * kKneeCheckFactor},
                                      std::pair{"below", knee_bytes / kKneeCheckFactor}}) {
      const std::string name = fmt::format("drift/{}/{}/knee-{}", page, knee_it->level, side);
      const std::uint64_t working_set_bytes = knee_point_bytes(bytes, setup.line_bytes);
      if (options.max_working_set_bytes > 0 && working_set_bytes > options.max_working_set_bytes) {
        knee_cases.skip(name, fmt::format("skipped: the knee check's {} is above --max-working-set {}",
                                          core::format_bytes(working_set_bytes),
                                          core::format_bytes(options.max_working_set_bytes)));
        continue;
      }
      add(knee_cases, {name, knee_it->level, working_set_bytes,
                       {{"knee_check", side}, {"knee_bytes", std::to_string(knee_it->detected_bytes)}}});
    }
  }
  return cases.count() + knee_cases.count();
}

}  // namespace

MEMPROBE_FAMILY(drift,
                "the latency family's level figures re-measured at the end of the run: how far the machine moved",
                register_drift);

}  // namespace memprobe::bench
