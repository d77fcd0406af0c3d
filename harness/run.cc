#include "harness/run.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <unistd.h>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "analysis/derived.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"
#include "benchmarks/arena.h"
#include "benchmarks/family.h"
#include "benchmarks/region_counters.h"
#include "benchmarks/working_set.h"
#include "core/machine.h"
#include "core/topology.h"
#include "core/units.h"
#include "git_describe.h"  // generated at build time: MEMPROBE_GIT_DESCRIBE
#include "harness/collector.h"
#include "harness/machine_info.h"
#include "harness/machine_load.h"
#include "harness/signals.h"
#include "harness/stages.h"
#include "harness/system_guard.h"

namespace memprobe::harness {
namespace {

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Google Benchmark parses its own flags; memprobe run passes none, so this
// only sets its defaults (and keeps its console reporter out of the way).
void initialize_google_benchmark(std::vector<std::string> args) {
  static std::vector<std::string> storage;
  storage = std::move(args);
  static std::vector<char*> argv;
  argv.clear();
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(storage.size());
  benchmark::Initialize(&argc, argv.data());
  // Initialize removes the flags it knows; anything left is not a flag.
  if (argc > 1) throw UsageError(fmt::format("bench: unrecognized argument '{}'", argv[1]));
}

// The CPU a run pins to unless --cpu says: the last one this process may run
// on (CPU 0 usually takes most interrupts).
int default_cpu() {
  const std::vector<int>& cpus = core::inherited_cpus();
  return cpus.empty() ? 0 : cpus.back();
}

// Pins to the requested CPU, or to default_cpu(). Returns the CPU used.
int pin(const RunPlan& plan, std::ostream& err) {
  const int cpu = plan.cpu.value_or(default_cpu());
  auto pinned = core::pin_current_thread(cpu);
  if (!pinned) {
    if (plan.cpu) throw UsageError(fmt::format("--cpu: {}", pinned.error().reason));
    err << fmt::format("memprobe: warning: not pinned ({}); figures may be noisier\n", pinned.error().reason);
  }
  return cpu;
}

void add_context_to_google_benchmark(const core::Machine& machine) {
  benchmark::AddCustomContext("memprobe_cpu_model", machine.cpu_model);
  benchmark::AddCustomContext("memprobe_hypervisor", machine.hypervisor.value_or("none"));
  benchmark::AddCustomContext("memprobe_tsc_hz", fmt::format("{:.0f}", machine.tsc_hz));
  benchmark::AddCustomContext("memprobe_core_hz", fmt::format("{:.0f}", machine.core_clock.hz));
  benchmark::AddCustomContext("memprobe_core_hz_source", machine.core_clock.source);
  benchmark::AddCustomContext("memprobe_thp", machine.thp_enabled);
}

// Which performance counters were counted; an event that could not be opened
// is listed as unavailable with its reason (one entry for all hardware events
// when the machine exposes no PMU at all).
void add_counter_statuses(const core::Machine& machine, analysis::Results& results) {
  nlohmann::json statuses = nlohmann::json::array();
  for (const core::EventStatus& s : bench::region_counter_statuses()) {
    statuses.push_back({{"event", s.name}, {"column", s.label}, {"available", s.available},
                        {"software", s.software}, {"reason", s.reason}, {"meaning", s.meaning}});
    if (!s.available && (s.software || machine.pmu_available))
      results.unavailable.push_back({"counter " + s.name, s.reason});
  }
  results.extra["counters"] = statuses;
  if (!machine.pmu_available)
    results.unavailable.push_back({"hardware counters", machine.pmu_reason + "; software counters only"});
}

// The options the case count is estimated with before anything is measured:
// the latency sweep usually shows DRAM within two octaves of its first step
// (harness/stages.h), and the stages re-count as they go.
bench::CaseOptions estimate_options(bench::CaseOptions options) {
  if (options.max_working_set_bytes == 0) options.sweep_up_to_bytes = 4 * kFirstLatencySweepTopBytes;
  return options;
}


// The largest working set of this run (CaseOptions::max_working_set_bytes):
// --max-working-set as given (main checked it against MemAvailable), else the
// default latency-sweep top, clamped with a note when MemAvailable cannot
// hold it (then the clamp caps every family, as the flag would). Recorded in
// the results (extra.max_working_set_bytes / _source) for the header.
void choose_max_working_set(const core::Machine& machine, bench::CaseOptions& options, analysis::Results& results,
                            std::ostream& err) {
  if (options.max_working_set_bytes > 0) {
    results.extra["max_working_set_bytes"] = options.max_working_set_bytes;
    results.extra["max_working_set_source"] = "--max-working-set";
    return;
  }
  const std::uint64_t llc = machine.topology.last_level_cache_bytes();
  const std::uint64_t default_bytes = bench::default_max_working_set_bytes(llc, options.quick);
  results.extra["max_working_set_bytes"] = default_bytes;
  results.extra["max_working_set_source"] = "default";
  const auto available = core::mem_available_bytes();
  const auto clamp = clamp_default_max_working_set(default_bytes, available);
  if (!clamp) return;
  const std::uint64_t clamped = *clamp;
  options.max_working_set_bytes = clamped;
  results.extra["max_working_set_bytes"] = clamped;
  results.extra["max_working_set_source"] = "default, clamped to half of MemAvailable";
  err << fmt::format("memprobe: note: the default max working set ({}: {}x the LLC, at least 64 MiB) is more "
                     "than half of the memory available now ({} MemAvailable); using {} (choose with "
                     "--max-working-set)\n",
                     core::format_bytes(default_bytes), options.quick ? 4 : 8, core::format_bytes(*available),
                     core::format_bytes(clamped));
}

}  // namespace

double min_time_for_budget(double budget_s, std::size_t cases, const bench::CaseOptions& options) {
  if (cases == 0 || options.repetitions <= 0) return options.min_time_s;
  // Google Benchmark runs about twice the minimum time per repetition while
  // it sizes the iteration count; set-up (allocation, chain building) takes
  // roughly the other 40 % of a run, measured on the latency family.
  const double per_repetition_s = budget_s * 0.6 / (static_cast<double>(cases) * options.repetitions * 2.0);
  return std::clamp(per_repetition_s, kMinRepetitionTimeS, options.min_time_s);
}

int counters_command(std::ostream& out) {
  const auto statuses = core::list_available_events();
  const std::string pmu = core::libpfm_core_pmu();
  out << fmt::format("libpfm4 core PMU: {}\n\n", pmu.empty() ? "none recognised" : pmu);
  std::size_t width = 5;
  for (const auto& s : statuses) width = std::max(width, s.name.size());
  out << fmt::format("{:<{}}  {:<11}  {}\n", "event", width, "status", "meaning / reason");
  for (const auto& s : statuses)
    out << fmt::format("{:<{}}  {:<11}  {}\n", s.name, width, s.available ? "counts" : "unavailable",
                       s.available ? s.meaning : s.reason);
  return 0;
}

namespace {

// The results value before anything is measured: the command, the machine and
// what the run was asked for.
analysis::Results start_results(const RunPlan& plan, const core::Machine& machine, int cpu) {
  analysis::Results results;
  results.command = plan.command;
  results.started_at = utc_now_iso8601();
  results.git = MEMPROBE_GIT_DESCRIBE;
  results.machine = to_machine_info(machine);
  results.extra["memprobe_version"] = MEMPROBE_VERSION;
  results.extra["pinned_cpu"] = cpu;
  results.extra["seed"] = plan.case_options.seed;
  return results;
}

// How many cases the run will measure (an estimate: later families are sized
// from earlier ones); with --budget, each repetition shortened to fit first.
std::map<std::string, std::size_t> plan_cases(const RunPlan& plan, const core::Machine& machine,
                                              bench::CaseOptions& options, std::ostream& err) {
  std::map<std::string, std::size_t> planned = count_cases(plan.families, 0, machine, estimate_options(options));
  if (plan.budget_s) {
    // Fit the run into the budget by shortening each repetition; never
    // lengthen it beyond the default, which is already statistically enough.
    options.min_time_s = min_time_for_budget(*plan.budget_s, total_cases(planned), options);
    planned = count_cases(plan.families, 0, machine, estimate_options(options));
    err << fmt::format("memprobe: {} cases, {:.0f} s budget: {:.1f} ms per repetition\n", total_cases(planned),
                       *plan.budget_s, options.min_time_s * 1e3);
  }
  return planned;
}

// How much of the machine other work used while the families ran: kept in
// the results (extra.other_cpu_busy_pct) and, past
// kBusyMachineWarningFraction, said on stderr.
void note_other_work(const std::optional<CpuTimes>& start, analysis::Results& results, std::ostream& err) {
  const std::optional<CpuTimes> end = sample_cpu_times();
  if (!start || !end) return;
  const double other = other_busy_fraction(*start, *end);
  results.extra["other_cpu_busy_pct"] = other * 100;
  if (other > kBusyMachineWarningFraction)
    err << fmt::format("memprobe: warning: other work kept {:.0f} % of the CPUs' time busy during the run "
                       "(hypervisor steal included): shared caches, DRAM and CPUs make the figures noisier and "
                       "the detected sizes less certain; rerun on a quiet machine\n",
                       other * 100)
        << std::flush;
}

// Writes the file (if asked) and the tables; the exit status.
int finish_run(const RunPlan& plan, analysis::Results& results, std::size_t total_cases, std::ostream& out,
               std::ostream& err) {
  const bool interrupted = bench::interrupt_requested();
  if (interrupted) {
    results.interrupted = true;
    err << fmt::format("memprobe: interrupted by SIG{}: {} of {} cases completed\n",
                       signal_name(GracefulInterrupts::first_signal()), results.cases.size(), total_cases);
  }
  // The file first: the tables may go to a reader that is gone.
  std::optional<std::string> write_error;
  if (plan.out_path) {
    try {
      analysis::write_results_atomic(*plan.out_path, results);
      err << fmt::format("memprobe: wrote {} ({} cases{})\n", *plan.out_path, results.cases.size(),
                         interrupted ? ", interrupted run" : "");
    } catch (const std::system_error& e) {
      write_error = e.what();  // reported after the tables, which still show the figures
    }
  }
  out << "\n" << analysis::render_sections(results) << std::flush;
  if (write_error) throw std::runtime_error(*write_error);
  return interrupted ? 130 : 0;
}

}  // namespace

int run_command(const RunPlan& plan, std::ostream& out, std::ostream& err) {
  validate_plan(plan);  // bad input ends here, before anything is pinned, changed or measured
  const int cpu = pin(plan, err);
  // Before the fingerprint, so the results record the pools as reserved.
  SystemGuard system_guard(err);
  if (plan.reserve_hugepages_2m > 0) system_guard.reserve_hugepages(2 * core::kMiB, plan.reserve_hugepages_2m);
  if (plan.reserve_hugepages_1g > 0) system_guard.reserve_hugepages(core::kGiB, plan.reserve_hugepages_1g);

  err << fmt::format("memprobe: pinned to CPU {}; calibrating the TSC and core clock...\n", cpu) << std::flush;
  const core::Machine machine = core::fingerprint(true);

  analysis::Results results = start_results(plan, machine, cpu);
  bench::CaseOptions options = plan.case_options;
  choose_max_working_set(machine, options, results, err);
  bench::configure_region_counters(plan.counter_events);
  add_counter_statuses(machine, results);
  out << analysis::render_machine_header(results) << std::flush;
  // Nobody reads the tables (a closed pipe, a full disk) and no file wants the figures: stop before measuring.
  if (!out && !plan.out_path)
    throw std::runtime_error("cannot write to standard output, and there is no --out file: not measuring");

  const std::map<std::string, std::size_t> planned_cases = plan_cases(plan, machine, options, err);
  initialize_google_benchmark({"memprobe"});
  add_context_to_google_benchmark(machine);

  if (!machine.pmu_available)
    err << fmt::format("memprobe: hardware counters unavailable: {}; counting software events only\n",
                       machine.pmu_reason);

  CollectingReporter reporter(planned_cases, err, options.quick);
  // Until the file is written: a signal after the measurement must not lose it.
  const GracefulInterrupts graceful_interrupts;
  const bool cap_given = plan.case_options.max_working_set_bytes > 0;
  const std::optional<CpuTimes> cpu_at_start = sample_cpu_times();
  run_families_in_stages(plan.families, machine, options, cap_given, results, reporter, err);
  note_other_work(cpu_at_start, results, err);
  // Hand hugetlb pages back before the guard shrinks the pool again.
  bench::release_arena();

  add_runs_to_results(reporter.runs(), results);
  analysis::derive_all(results);
  return finish_run(plan, results, reporter.total_cases(), out, err);
}

std::string version_text() { return fmt::format("memprobe {} (git {})", MEMPROBE_VERSION, MEMPROBE_GIT_DESCRIBE); }

int bench_command(const std::vector<std::string>& args) {
  const BenchPlan plan = parse_bench_arguments(args, core::mem_available_bytes());
  (void)core::pin_current_thread(default_cpu());
  const core::Machine machine = core::fingerprint(true);
  benchmark::ClearRegisteredBenchmarks();
  bench::CaseOptions options;
  // Every policy is registered: one this machine cannot provide shows up as an
  // error with its reason, so --benchmark_filter can select any of them.
  options.policies.assign(core::kAllPagePolicies.begin(), core::kAllPagePolicies.end());
  // Repetitions come from --benchmark_repetitions (default 1): Google
  // Benchmark 1.7.1 writes the cv of an all-zero counter (e.g. page faults in
  // a timed region) as "-nan", which is not JSON.
  options.repetitions = 0;
  options.max_working_set_bytes = plan.max_working_set_bytes;
  // Every family as if --only named it: all its cases (bandwidth's mixes at
  // every point), for --benchmark_filter to choose from.
  for (const bench::Family& family : bench::families()) options.only_families.emplace_back(family.name);
  for (const bench::Family& family : bench::families()) family.register_cases(machine, options);
  std::vector<std::string> gb_args{"memprobe bench"};
  gb_args.insert(gb_args.end(), plan.benchmark_args.begin(), plan.benchmark_args.end());
  initialize_google_benchmark(gb_args);
  add_context_to_google_benchmark(machine);
  CaseBoundaryReporter reporter(plan.format);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace memprobe::harness
