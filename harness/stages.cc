#include "harness/stages.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>

#include "analysis/family.h"
#include "analysis/family_support.h"
#include "benchmarks/working_set.h"
#include "core/buffer.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::harness {
namespace {

std::size_t register_family(const std::string& name, const core::Machine& machine,
                            const bench::CaseOptions& options) {
  benchmark::ClearRegisteredBenchmarks();
  return bench::find_family(name)->register_cases(machine, options);
}

void run_registered(CollectingReporter& reporter) { benchmark::RunSpecifiedBenchmarks(&reporter); }

// The cases so far as a results value (machine = the run's), for the
// analysis that sizes the next step.
analysis::Results results_so_far(const std::vector<RawRun>& runs, const analysis::MachineInfo& machine) {
  analysis::Results r;
  r.machine = machine;
  add_runs_to_results(runs, r);
  return r;
}

// Why `family`'s `page` curve needs no more points (its descriptor's
// sweep_complete), or nullopt to grow it.
std::optional<std::string> sweep_complete(std::string_view family, const analysis::Results& results,
                                          const std::string& page) {
  const analysis::FamilyDescriptor* descriptor = analysis::find_family(family);
  if (descriptor == nullptr || !descriptor->sweep_complete) return std::nullopt;
  return descriptor->sweep_complete(results, page);
}

// The largest `parameter` over `family`'s cases on `page`; 0 without any.
double largest_point(const analysis::Results& results, std::string_view family, const std::string& page,
                     const char* parameter) {
  double largest = 0;
  for (const analysis::Case& c : results.cases)
    if (c.family == family && analysis::param_text(c.params, "page") == page)
      largest = std::max(largest, analysis::json_number(c.params, parameter).value_or(0));
  return largest;
}

// The latency family, 4 KiB .. kFirstLatencySweepTopBytes first and then an
// octave at a time, every page policy at each step (every curve has the same
// points), until one curve shows DRAM (its descriptor's sweep_complete), the
// sweep reaches `bound_bytes`, or the time limit passes. Any curve will do:
// the cache table reads each curve's DRAM where another curve located it
// (table_dram_plateau), and in a guest the 4 KiB curve can climb through a
// small shared L3 without the plateau the rule counts while the THP curve
// shows it (a Zen 5 guest's default run swept to 256 MiB for that, 8 s more).
// With --max-working-set the sweep goes to exactly that size in one step
// (what the user asked for).
LatencySweepEnd run_latency(const core::Machine& machine, const bench::CaseOptions& options,
                            std::uint64_t bound_bytes, bool cap_given, const analysis::MachineInfo& info,
                            CollectingReporter& reporter, std::ostream& err) {
  LatencySweepEnd end;
  if (options.policies.empty()) return end;
  std::vector<std::string> pages;
  for (const core::PagePolicy policy : options.policies) pages.emplace_back(core::cli_name(policy));
  bench::CaseOptions step = options;
  const auto start = std::chrono::steady_clock::now();
  const double limit_s = static_cast<double>(options.policies.size()) *
                         (options.quick ? kQuickLatencySweepSecondsPerPolicy : kLatencySweepSecondsPerPolicy);

  std::uint64_t top = cap_given ? bound_bytes : std::min(bound_bytes, kFirstLatencySweepTopBytes);
  std::uint64_t above = 0;
  for (;;) {
    step.sweep_above_bytes = above;
    step.sweep_up_to_bytes = top;
    register_family("latency", machine, step);
    run_registered(reporter);
    end.up_to_bytes = top;
    if (bench::interrupt_requested()) {
      end.reason = "interrupted";
      return end;
    }
    if (cap_given) {
      end.reason = "--max-working-set";
      break;
    }
    const analysis::Results so_far = results_so_far(reporter.runs(), info);
    std::optional<std::string> done;
    for (const std::string& page : pages)
      if ((done = sweep_complete("latency", so_far, page))) break;
    if (done) {
      end.reason = *done;
      break;
    }
    const std::string curves = pages.size() == 1 ? fmt::format("the {} curve has", pages.front())
                                                 : fmt::format("no curve ({}) has", fmt::join(pages, ", "));
    if (top >= bound_bytes) {
      end.reason = fmt::format("reached the largest working set allowed ({}) before a curve showed a DRAM "
                               "plateau: {} shown one",
                               core::format_bytes(bound_bytes), curves);
      break;
    }
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double octave_s = 0;
    for (const std::string& page : pages)
      octave_s += largest_octave_seconds(so_far, reporter.case_seconds(), page, top);
    const double predicted_s = predicted_latency_seconds(elapsed_s, octave_s);
    if (predicted_s > limit_s) {
      end.reason = fmt::format("time limit: one more octave would take the latency family to about {:.0f} s "
                               "({} page polic{}), past its {:.0f} s, and {} shown a DRAM plateau",
                               predicted_s, options.policies.size(), options.policies.size() == 1 ? "y" : "ies",
                               limit_s, curves);
      break;
    }
    above = top;
    top = std::min(bound_bytes, top * 2);
    err << fmt::format("memprobe: latency: no DRAM plateau yet; extending the sweep to {}\n",
                       core::format_bytes(top))
        << std::flush;
  }
  return end;
}

// The tlb family, then (base pages only) an octave at a time until
// its descriptor's sweep_complete, half of MemAvailable, or the time limit: CPUID's TLB
// sizes seed the first sweep but never end it (they overflow on Zen 5, are
// absent in many guests and on Arm).
TlbSweepEnd run_tlb(const core::Machine& machine, const bench::CaseOptions& options,
                        const analysis::MachineInfo& info, CollectingReporter& reporter, std::ostream& err) {
  TlbSweepEnd end;
  register_family("tlb", machine, options);
  run_registered(reporter);
  const std::string page(core::cli_name(core::PagePolicy::k4K));
  const bool base_pages_swept = std::find(options.policies.begin(), options.policies.end(),
                                          core::PagePolicy::k4K) != options.policies.end();
  const auto start = std::chrono::steady_clock::now();
  const double limit_s = options.quick ? kTlbSweepSeconds / 4 : kTlbSweepSeconds;
  const std::uint64_t bound_pages =
      core::mem_available_bytes().value_or(0) / 2 / std::max<std::uint64_t>(1, core::base_page_bytes());
  double last_step_s = 0;
  for (;;) {
    const analysis::Results r = results_so_far(reporter.runs(), info);
    end.up_to_pages = static_cast<std::uint64_t>(largest_point(r, "tlb", page, "pages"));
    if (!base_pages_swept || end.up_to_pages == 0) {
      end.reason = base_pages_swept ? "no base-page points measured" : "base pages not in --pages";
      break;
    }
    if (bench::interrupt_requested()) {
      end.reason = "interrupted";
      break;
    }
    if (auto done = sweep_complete("tlb", r, page)) {
      end.reason = *done;
      break;
    }
    const std::uint64_t top = end.up_to_pages * 2;
    if (top > bound_pages) {
      end.reason = fmt::format("half of MemAvailable holds {} {} pages, and the {} curve has not yet gone past an "
                               "L2 DTLB knee",
                               bound_pages, page, page);
      break;
    }
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (last_step_s > 0 && elapsed_s + 2 * last_step_s > limit_s) {
      end.reason = fmt::format("time limit: the next octave would end past {:.0f} s of TLB sweep extension, and the "
                               "{} curve has not yet gone past an L2 DTLB knee",
                               limit_s, page);
      break;
    }
    err << fmt::format("memprobe: tlb: the {} curve has not yet gone past an L2 DTLB knee far enough to read it; "
                       "extending the sweep to {} pages\n",
                       page, top)
        << std::flush;
    bench::CaseOptions step = options;
    step.tlb_pages_above = end.up_to_pages;
    step.tlb_pages_up_to = top;
    const auto step_start = std::chrono::steady_clock::now();
    if (register_family("tlb", machine, step) == 0) {
      end.reason = "no base-page points fit in the next octave";
      break;
    }
    run_registered(reporter);
    last_step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
  }
  return end;
}

}  // namespace

double predicted_latency_seconds(double elapsed_seconds, double largest_octave_seconds) {
  return elapsed_seconds + 2 * largest_octave_seconds;
}

double largest_octave_seconds(const analysis::Results& results, const std::map<std::string, double>& case_seconds,
                              const std::string& page, std::uint64_t top_bytes) {
  double seconds = 0;
  for (const analysis::Case& c : results.cases) {
    if (c.family != "latency" || analysis::param_text(c.params, "page") != page) continue;
    const auto bytes = analysis::json_number(c.params, "working_set_bytes");
    if (!bytes || *bytes <= static_cast<double>(top_bytes) / 2 || *bytes > static_cast<double>(top_bytes)) continue;
    if (auto it = case_seconds.find(c.name); it != case_seconds.end()) seconds += it->second;
  }
  return seconds;
}

std::map<std::string, std::size_t> count_cases(const std::vector<std::string>& families, std::size_t from,
                                               const core::Machine& machine, const bench::CaseOptions& options) {
  std::map<std::string, std::size_t> cases;
  for (std::size_t i = from; i < families.size(); ++i) cases[families[i]] += register_family(families[i], machine, options);
  benchmark::ClearRegisteredBenchmarks();
  return cases;
}

std::size_t total_cases(const std::map<std::string, std::size_t>& cases_per_family) {
  std::size_t total = 0;
  for (const auto& [family, cases] : cases_per_family) total += cases;
  return total;
}

bench::MeasuredSizes measured_sizes(const std::vector<RawRun>& runs, const analysis::MachineInfo& machine) {
  const analysis::Results r = results_so_far(runs, machine);
  analysis::SizingFigures figures;
  for (const analysis::FamilyDescriptor* family : analysis::families_in_run_order())
    if (family->sizing_figures) family->sizing_figures(r, figures);
  bench::MeasuredSizes sizes;
  sizes.cache_bytes = figures.cache_bytes;
  sizes.dram_from_bytes = figures.dram_from_bytes;
  sizes.l1_dtlb_entries_4k = figures.l1_dtlb_entries_4k;
  sizes.l2_dtlb_entries_4k = figures.l2_dtlb_entries_4k;
  sizes.latency_page = figures.latency_page;
  sizes.cache_bound_bytes = figures.cache_bound_bytes;
  for (const auto& [level, bytes] : figures.level_figures) sizes.level_figures.push_back({level, bytes});
  for (const auto& [level, bytes] : figures.level_knees) sizes.level_knees.push_back({level, bytes});
  return sizes;
}

void run_families_in_stages(const std::vector<std::string>& families, const core::Machine& machine,
                            bench::CaseOptions options, bool sweep_cap_given, analysis::Results& results,
                            CollectingReporter& reporter, std::ostream& err) {
  const std::uint64_t bound_bytes = options.max_working_set_bytes > 0
                                        ? options.max_working_set_bytes
                                        : bench::default_max_working_set_bytes(
                                              machine.topology.last_level_cache_bytes(), options.quick);
  std::uint64_t latency_end_bytes = 0;
  for (std::size_t i = 0; i < families.size() && !bench::interrupt_requested(); ++i) {
    const std::string& family = families[i];
    if (family == "latency") {
      const LatencySweepEnd end =
          run_latency(machine, options, bound_bytes, sweep_cap_given, results.machine, reporter, err);
      results.extra["latency_sweep"] = {{"up_to_bytes", end.up_to_bytes}, {"end_reason", end.reason}};
      latency_end_bytes = end.up_to_bytes;
      err << fmt::format("memprobe: latency sweep ended at {}: {}\n", core::format_bytes(end.up_to_bytes),
                         end.reason)
          << std::flush;
    } else if (family == "tlb") {
      const TlbSweepEnd end = run_tlb(machine, options, results.machine, reporter, err);
      results.extra["tlb_sweep"] = {{"up_to_pages", end.up_to_pages}, {"end_reason", end.reason}};
      err << fmt::format("memprobe: tlb sweep ended at {} pages: {}\n", end.up_to_pages, end.reason) << std::flush;
    } else {
      register_family(family, machine, options);
      run_registered(reporter);
    }
    if (family == "latency" || family == "tlb") {
      const bench::MeasuredSizes measured = measured_sizes(reporter.runs(), results.machine);
      if (family == "latency") {
        options.measured.cache_bytes = measured.cache_bytes;
        options.measured.dram_from_bytes = measured.dram_from_bytes;
        options.measured.latency_page = measured.latency_page;
        options.measured.level_figures = measured.level_figures;
        options.measured.level_knees = measured.level_knees;
        if (measured.cache_bytes.empty() && latency_end_bytes > 0) {
          // No DRAM plateau (time limit, a noisy machine): the sweep went to
          // latency_end_bytes without one, so no level the other families
          // size from is taken to be larger than that, or than where a curve's
          // last plateau started that passes the DRAM rule over one octave.
          const std::uint64_t bound = measured.cache_bound_bytes > 0
                                          ? std::min(measured.cache_bound_bytes, latency_end_bytes)
                                          : latency_end_bytes;
          for (const core::CacheLevel& c : machine.topology.data_caches())
            options.measured.cache_bytes.push_back(std::min<std::uint64_t>(c.size_bytes, bound));
        }
      } else {
        options.measured.l1_dtlb_entries_4k = measured.l1_dtlb_entries_4k;
        options.measured.l2_dtlb_entries_4k = measured.l2_dtlb_entries_4k;
      }
      results.extra["sized_from_measured"] = {
          {"cache_bytes", options.measured.cache_bytes},
          {"dram_from_bytes", options.measured.dram_from_bytes},
          {"l1_dtlb_entries_4k", options.measured.l1_dtlb_entries_4k},
          {"l2_dtlb_entries_4k", options.measured.l2_dtlb_entries_4k},
      };
      reporter.set_cases_left(count_cases(families, i + 1, machine, options));
    }
  }
  benchmark::ClearRegisteredBenchmarks();
}

}  // namespace memprobe::harness
