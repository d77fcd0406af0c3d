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
#include "harness/cli.h"
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

using memprobe::harness::CliArgs;
using memprobe::harness::ReportArgs;
using memprobe::harness::RunArgs;

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

  CLI::App app{std::string(memprobe::harness::kAppDescription), "memprobe"};
  CliArgs args;
  memprobe::harness::build_cli(app, args);
  RunArgs& run_args = args.run;
  ReportArgs& report_args = args.report;
  memprobe::harness::CompareArgs& compare_args = args.compare;
  memprobe::harness::FleetArgs& fleet_args = args.fleet;
  CLI::App* run = args.run_cmd;
  CLI::App* report = args.report_cmd;
  CLI::App* compare = args.compare_cmd;
  CLI::App* fleet = args.fleet_cmd;
  CLI::App* check = args.check_cmd;
  CLI::App* list = args.list_cmd;
  CLI::App* counters_cmd = args.counters_cmd;

  reject_unknown_subcommand(app, argc, argv);
  // compare's B files (after "--") are taken off before parsing.
  const auto compare_b_files = memprobe::harness::take_compare_b_files(argc, argv);
  if (const auto status = parse_command_line(app, argc, argv)) return *status;

  if (*list) {
    std::cout << memprobe::harness::families_help();
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
