// libFuzzer target: argv vectors -> memprobe's command-line layer (harness/
// main.cc compiled with main renamed, see tests/CMakeLists.txt). Parse only:
// the commands that would measure, touch the system or run gnuplot are the
// stubs below, so every flag, subcommand and value parser runs and nothing
// is measured. The input is split at NUL bytes into arguments. memprobe's
// answer to any command line is an exit status (0, 1, 2); a crash, a hang,
// an escaping exception or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/results.h"
#include "harness/check.h"
#include "harness/fleet_compare.h"
#include "harness/plan.h"
#include "harness/plot.h"
#include "harness/run.h"

int memprobe_cli_main(int argc, char** argv);  // harness/main.cc's main

namespace memprobe::harness {

// The acting ends of the commands: parsed, not acted upon.
int run_command(const RunPlan&, std::ostream&, std::ostream&) { return 0; }
int counters_command(std::ostream&) { return 0; }
int bench_command(const std::vector<std::string>&) { return 0; }
int check_command(std::ostream&) { return 0; }
std::string version_text() { return "memprobe (fuzz)"; }
void check_plot_directory(const std::string&) {}
int compare_command(const CompareCommand&, std::ostream&) { return 0; }
int fleet_command(const std::vector<std::string>&, const std::string&, bool, std::ostream&) { return 0; }
std::vector<std::string> write_plots(const analysis::Results&, const std::string&) { return {}; }
analysis::HtmlPlots svg_plots(const analysis::Results&) { return {}; }

}  // namespace memprobe::harness

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMaxArguments = 32;
  std::vector<std::string> arguments{"memprobe"};
  std::string current;
  for (std::size_t i = 0; i < size && arguments.size() < kMaxArguments; ++i) {
    if (data[i] == 0) {
      arguments.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty() && arguments.size() < kMaxArguments) arguments.push_back(current);
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Help and error text are not the point: keep the fuzzer's output readable.
  std::ostringstream sink;
  auto* out = std::cout.rdbuf(sink.rdbuf());
  auto* err = std::cerr.rdbuf(sink.rdbuf());
  const int status = memprobe_cli_main(static_cast<int>(arguments.size()), argv.data());
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
  if (status != 0 && status != 1 && status != 2) __builtin_trap();
  return 0;
}
