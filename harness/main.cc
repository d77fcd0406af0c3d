// memprobe: measures the memory hierarchy of the machine it runs on.
// One catch site: usage errors exit 2 with one line, system failures exit 1.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include <iostream>
#include <streambuf>
#include <limits>
#include <optional>
#include <algorithm>
#include <sstream>
#include <vector>
#include <system_error>

#include "analysis/compare.h"
#include "analysis/loaded_run.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"
#include "benchmarks/family.h"
#include "core/machine.h"
#include "core/numa.h"
#include "harness/check.h"
#include "harness/fleet_compare.h"
#include "harness/numeric_flags.h"
#include "harness/plan.h"
#include "harness/plot.h"
#include "harness/run.h"
#include "harness/signals.h"

namespace {

using memprobe::harness::UsageError;

std::string joined_command_line(int argc, char** argv) {
  std::string command = "memprobe";
  for (int i = 1; i < argc; ++i) command += fmt::format(" {}", argv[i]);
  return command;
}

std::string families_help() {
  std::string text = "families:\n";
  for (const auto& f : memprobe::bench::families())
    text += fmt::format("  {:<10} {}\n", f.name, f.description);
  return text;
}

// `memprobe run`'s options as given. Every number is taken as text and
// parsed strictly (parse_count, parse_decimal, parse_max_working_set): CLI11
// would wrap "-3" into 2^64 - 3 for an unsigned option and read '' as 0.
struct RunArgs {
  std::string only, pages = "4k,thp", out_path, counters, max_working_set;
  std::string cpu, reserve_2m = "0", reserve_1g = "0", seed = std::to_string(memprobe::core::kDefaultChainSeed);
  std::string budget_s, nodes, cpus;
  bool quick = false;
};

CLI::App* add_run_command(CLI::App& app, RunArgs& a) {
  CLI::App* run = app.add_subcommand("run", "measure, print the tables, optionally write a results file");
  run->add_option("--only", a.only, "comma-separated families to run (default: all)");
  run->add_option("--pages", a.pages, "page policies: 4k, thp, 2m (hugetlb-2m), 1g (hugetlb-1g)")
      ->capture_default_str();
  run->add_flag("--quick", a.quick, "fewer sweep points and repetitions");
  run->add_option("--budget", a.budget_s,
                  "time budget in seconds: shortens each repetition to fit (never lengthens)")
      ->type_name("SECONDS");
  run->add_option("--out", a.out_path, "write the results (JSON, schema memprobe/1) to this file");
  run->add_option("--cpu", a.cpu,
                  "logical CPU to pin to, within the CPU mask memprobe was started with (default: its last CPU)")
      ->type_name("N");
  run->add_option("--cpus", a.cpus,
                  "CPUs the c2c family pairs, e.g. 0-3,8, within the CPU mask memprobe was started with "
                  "(default: all of them)")
      ->type_name("LIST");
  run->add_option("--reserve-hugepages", a.reserve_2m,
                  "grow the 2 MiB hugetlb pool to N pages for this run (root; restored on exit and on SIGINT/SIGTERM)")
      ->type_name("N");
  run->add_option("--reserve-hugepages-1g", a.reserve_1g,
                  "grow the 1 GiB hugetlb pool to N pages for this run (root; restored on exit and on SIGINT/SIGTERM)")
      ->type_name("N");
  run->add_option("--counters", a.counters,
                  "comma-separated performance events (libpfm4 names or page-faults, minor-faults, ...); "
                  "default: this CPU's memory events (see memprobe counters)");
  run->add_option("--max-working-set", a.max_working_set,
                  "largest working set any case uses, e.g. 512MiB, 4G (the latency sweep ends exactly there; "
                  "default: 8x the last-level cache, 4x with --quick; at most half of MemAvailable)")
      ->type_name("SIZE");
  run->add_option("--nodes", a.nodes,
                  "comma-separated NUMA nodes of the numa family's matrix (default: every node, at most 8)")
      ->type_name("N,...");
  run->add_option("--seed", a.seed, "seed of the random chains")->capture_default_str()->type_name("N");
  run->footer(families_help());
  return run;
}

memprobe::harness::RunPlan run_plan(const RunArgs& a, const CLI::App& run, int argc, char** argv) {
  memprobe::harness::RunPlan plan;
  plan.command = joined_command_line(argc, argv);
  if (run.count("--only") && a.only.empty()) throw UsageError("--only: no family named");
  plan.families = memprobe::harness::parse_family_list(a.only);
  if (run.count("--only")) plan.case_options.only_families = plan.families;
  plan.case_options.policies = memprobe::harness::parse_page_list(a.pages);
  plan.case_options.quick = a.quick;
  plan.case_options.seed = memprobe::harness::parse_count("--seed", a.seed);
  if (a.quick) {
    plan.case_options.repetitions = 3;
    plan.case_options.min_time_s = 0.003;  // --quick: a rough curve in a few seconds
  }
  if (run.count("--budget")) {
    constexpr std::string_view kExpected = "a number of seconds between 0 and 86400";
    const double budget_s = memprobe::harness::parse_decimal("--budget", a.budget_s, kExpected);
    if (!(budget_s > 0) || budget_s > 86400)
      throw UsageError(fmt::format("--budget: '{}' is not {}", a.budget_s, kExpected));
    plan.budget_s = budget_s;
  }
  if (run.count("--max-working-set"))
    plan.case_options.max_working_set_bytes =
        memprobe::harness::parse_max_working_set(a.max_working_set, memprobe::core::mem_available_bytes());
  plan.reserve_hugepages_2m = memprobe::harness::parse_count("--reserve-hugepages", a.reserve_2m);
  plan.reserve_hugepages_1g = memprobe::harness::parse_count("--reserve-hugepages-1g", a.reserve_1g);
  if (run.count("--counters")) plan.counter_events = memprobe::harness::parse_counter_list(a.counters);
  if (run.count("--cpu")) {
    const std::uint64_t number = memprobe::harness::parse_count("--cpu", a.cpu);
    if (number > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
      throw UsageError(fmt::format("--cpu: {} is not a CPU number", a.cpu));
    plan.cpu = static_cast<int>(number);
  }
  if (run.count("--nodes")) {
    std::vector<unsigned> nodes;
    std::string item;
    std::stringstream in(a.nodes);
    while (std::getline(in, item, ',')) {
      const std::uint64_t node = memprobe::harness::parse_count("--nodes", item);
      if (node > std::numeric_limits<unsigned>::max())
        throw UsageError(fmt::format("--nodes: {} is not a NUMA node number", item));
      if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(static_cast<unsigned>(node));
    }
    if (nodes.empty())
      throw UsageError(fmt::format("--nodes: '{}' is not a comma-separated list of NUMA node numbers", a.nodes));
    if (const std::string wrong = memprobe::core::check_numa_nodes(nodes); !wrong.empty())
      throw UsageError("--nodes: " + wrong);
    plan.case_options.numa_nodes = std::move(nodes);
  }
  if (run.count("--cpus"))
    plan.case_options.cpus = memprobe::harness::parse_cpu_list(
        "--cpus", a.cpus, memprobe::core::inherited_cpus(), memprobe::core::inherited_cpus_list());
  if (!a.out_path.empty() || run.count("--out")) plan.out_path = a.out_path;
  return plan;
}

struct ReportArgs {
  std::string path, format = "text", plot_dir;
};

CLI::App* add_report_command(CLI::App& app, ReportArgs& a) {
  CLI::App* report = app.add_subcommand("report", "print the tables of a results file");
  report->add_option("file", a.path, "results file (JSON)")->required();
  report->add_option("--format", a.format,
                     "text, markdown, csv or html (one self-contained page: tables and the plots as inline SVG)")
      ->capture_default_str();
  report->add_option("--plot", a.plot_dir, "also write plots (SVG and PNG, through gnuplot) into this directory");
  return report;
}

int report_main(const ReportArgs& a, const CLI::App& report) {
  const auto format = memprobe::analysis::parse_table_format(a.format);
  if (!format) throw UsageError(fmt::format("--format: '{}' is not one of text, markdown, csv, html", a.format));
  if (report.count("--plot")) memprobe::harness::check_plot_directory(a.plot_dir);
  // Every table and plot from the cases by today's analysis (the one path
  // compare and fleet take too), so they agree with each other.
  auto [results, stored_derived_note] = memprobe::analysis::load_run(a.path);
  if (!stored_derived_note.empty()) std::cerr << "memprobe: note: " << stored_derived_note << "\n";
  // Rendered whole before anything is printed (HTML: with gnuplot's SVG inline).
  const std::string text = *format == memprobe::analysis::TableFormat::kHtml
                               ? memprobe::analysis::render_report_html(results, memprobe::harness::svg_plots(results))
                               : memprobe::analysis::render_report(results, *format);
  std::cout << text;
  if (report.count("--plot")) {
    for (const std::string& file : memprobe::harness::write_plots(results, a.plot_dir))
      std::cerr << "memprobe: wrote " << file << "\n";
  }
  return 0;
}

struct CompareArgs {
  memprobe::harness::CompareCommand command;
  std::vector<std::string> files;
  std::string fail_on_regression_pct;  // text: parse_decimal
};

CLI::App* add_compare_command(CLI::App& app, CompareArgs& a) {
  CLI::App* compare = app.add_subcommand(
      "compare", "results files side by side (A B, or A1 A2 -- B1 B2): B/A and a verdict per figure and case");
  compare->add_option("files", a.files, "A B, or several runs per side: A1 A2 -- B1 B2 (options before --)")
      ->required();
  compare->add_flag("--all", a.command.all_cases, "list every case, also those within noise");
  compare->add_option("--format", a.command.format,
                      "text, csv, junit (JUnit XML of the regression gate) or html (one self-contained page)")
      ->capture_default_str();
  compare->add_option("--fail-on-regression", a.fail_on_regression_pct,
                      "exit 3 when a figure of B is worse than A by more than PCT % and beyond noise")
      ->type_name("PCT");
  return compare;
}

struct FleetArgs {
  std::vector<std::string> paths;
  std::string format = "text";
  bool fail_on_outlier = false;
};

CLI::App* add_fleet_command(CLI::App& app, FleetArgs& a) {
  CLI::App* fleet = app.add_subcommand("fleet", "many runs in one table, grouped by machine, outliers flagged");
  fleet->add_option("paths", a.paths, "results files, or directories of them (*.json)")->required();
  fleet->add_option("--format", a.format, "text, markdown, csv, json or html (one self-contained page)")
      ->capture_default_str();
  fleet->add_flag("--fail-on-outlier", a.fail_on_outlier, "exit 3 when a run is flagged");
  return fleet;
}

// A first argument that is no option must name a subcommand: one line naming
// the known ones (CLI11's own message would not list them).
void reject_unknown_subcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return;
  std::string known;
  bool found = false;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    found |= sub->get_name() == argv[1];
    known += (known.empty() ? "" : ", ") + sub->get_name();
  }
  if (!found) throw UsageError(fmt::format("unknown subcommand '{}' (known: {}, bench)", argv[1], known));
}

// Parses the command line; the exit status when it asked for help or the
// version (printed), nothing when a subcommand is to run.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    throw UsageError(message.empty() ? "bad command line (see memprobe --help)" : message);
  }
  return std::nullopt;
}

int run_main(int argc, char** argv) {
  // `memprobe bench ...` hands every argument but --max-working-set to Google
  // Benchmark, after checking the flags it would only warn about.
  if (argc >= 2 && std::string_view(argv[1]) == "bench")
    return memprobe::harness::bench_command(std::vector<std::string>(argv + 2, argv + argc));

  CLI::App app{"memprobe: measures the memory hierarchy of this machine (latency per cache level, "
               "TLB reach, huge pages, page faults)",
               "memprobe"};
  app.require_subcommand(1);
  app.set_version_flag("--version", memprobe::harness::version_text());
  app.footer("Subcommand help: memprobe <subcommand> --help\n"
             "memprobe bench [--max-working-set SIZE] [Google Benchmark flags]  runs the raw cases with Google "
             "Benchmark's runner");
  RunArgs run_args;
  CLI::App* run = add_run_command(app, run_args);
  ReportArgs report_args;
  CLI::App* report = add_report_command(app, report_args);
  CompareArgs compare_args;
  CLI::App* compare = add_compare_command(app, compare_args);
  FleetArgs fleet_args;
  CLI::App* fleet = add_fleet_command(app, fleet_args);
  CLI::App* check =
      app.add_subcommand("check", "environment report: THP, hugetlb pools, PMU, frequency, swap; with fixes");
  CLI::App* list = app.add_subcommand("list", "list the benchmark families");
  CLI::App* counters_cmd =
      app.add_subcommand("counters", "list this machine's default performance events and whether they open");

  reject_unknown_subcommand(app, argc, argv);
  // compare's B files (after "--") are taken off before parsing.
  const auto compare_b_files = memprobe::harness::take_compare_b_files(argc, argv);
  if (const auto status = parse_command_line(app, argc, argv)) return *status;

  if (*list) {
    std::cout << families_help();
    return 0;
  }
  if (*counters_cmd) return memprobe::harness::counters_command(std::cout);
  if (*check) return memprobe::harness::check_command(std::cout);
  if (*compare) {
    memprobe::harness::split_compare_sides(compare_args.files, compare_b_files, compare_args.command);
    if (compare->count("--fail-on-regression"))
      compare_args.command.fail_on_regression_pct = memprobe::harness::parse_decimal(
          "--fail-on-regression", compare_args.fail_on_regression_pct, "a percentage between 0 and 1000");
    return memprobe::harness::compare_command(compare_args.command, std::cout);
  }
  if (*fleet)
    return memprobe::harness::fleet_command(fleet_args.paths, fleet_args.format, fleet_args.fail_on_outlier,
                                            std::cout);
  if (*report) return report_main(report_args, *report);
  return memprobe::harness::run_command(run_plan(run_args, *run, argc, argv), std::cout, std::cerr);
}

int run_main_reporting_errors(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "memprobe: error: " << e.what() << "\n";
    return 2;
  } catch (const memprobe::analysis::ResultsError& e) {
    std::cerr << "memprobe: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "memprobe: error: " << e.what() << "\n";
    return 1;
  }
}

// std::cout's buffer: writes to file descriptor 1 and keeps the errno of the
// first write that failed. Standard output is buffered, so a full disk,
// /dev/full or a closed pipe shows up at some flush, maybe long before the
// command ends, and errno is gone by then; this keeps it for the one line.
class CheckedStdoutBuffer final : public std::streambuf {
 public:
  CheckedStdoutBuffer() { setp(buffer_, buffer_ + sizeof buffer_); }
  int first_error() const { return first_error_; }
  bool failed() const { return failed_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool flush_buffer() {
    const char* next = pbase();
    bool ok = true;
    while (next < pptr()) {
      const ssize_t n = ::write(STDOUT_FILENO, next, static_cast<std::size_t>(pptr() - next));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!failed_) first_error_ = n < 0 ? errno : EIO;
        failed_ = true;
        ok = false;
        break;
      }
      next += n;
    }
    setp(buffer_, buffer_ + sizeof buffer_);  // what could not be written is dropped
    return ok;
  }

  char buffer_[64 * 1024];
  int first_error_ = 0;
  bool failed_ = false;
};

CheckedStdoutBuffer& stdout_buffer() {
  static CheckedStdoutBuffer buffer;
  return buffer;
}

// std::cout's own buffer, taken before main runs: a caller that redirected
// std::cout (the command-line fuzzer, tests/fuzz/fuzz_cli.cc, calls main
// repeatedly) keeps its buffer, and file descriptor 1 stays open.
std::streambuf* const g_standard_cout_buffer = std::cout.rdbuf();
bool owns_standard_output() { return std::cout.rdbuf() == g_standard_cout_buffer; }

// Any write error on standard output makes the command fail (status 1
// instead of 0) with one line, so a script never takes an empty or cut
// output for a result. A close can report a deferred error (NFS) too.
int finish_standard_output(int status) {
  if (std::cout.rdbuf() != &stdout_buffer()) return status;  // not ours (see owns_standard_output)
  std::cout.flush();
  bool failed = stdout_buffer().failed() || !std::cout;
  int error = stdout_buffer().first_error();
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {  // anything written through stdio
    failed = true;
    if (error == 0) error = errno;
  }
  if (::close(STDOUT_FILENO) != 0 && errno != EBADF) {
    failed = true;
    if (error == 0) error = errno;
  }
  // Status 1 or 2 has printed its error line already: one line per failure.
  if (!failed || status == 1 || status == 2) return status;
  std::cerr << "memprobe: error: cannot write to standard output"
            << (error != 0 ? std::string(": ") + std::strerror(error) : std::string()) << "\n";
  return status == 0 ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
  memprobe::harness::accept_interrupt_signals();
  // A closed reader or a file size limit becomes a write error, not a death.
  memprobe::harness::ignore_write_signals();
  if (owns_standard_output()) {
    std::cout.rdbuf(&stdout_buffer());
    // On a terminal every output operation shows at once, as stdio's line
    // buffering did (bench's console progress among them).
    if (::isatty(STDOUT_FILENO)) std::cout.setf(std::ios::unitbuf);
  }
  return finish_standard_output(run_main_reporting_errors(argc, argv));
}
