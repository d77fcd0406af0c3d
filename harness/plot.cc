#include "harness/plot.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "analysis/plots.h"
#include "harness/plan.h"

namespace memprobe::harness {

void check_plot_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) throw UsageError("--plot: empty directory name");
  std::error_code ec;
  if (!fs::exists(dir, ec)) fs::create_directories(dir, ec);
  if (ec) throw UsageError(fmt::format("--plot: cannot create directory '{}' ({})", dir, ec.message()));
  if (!fs::is_directory(dir, ec)) throw UsageError(fmt::format("--plot: '{}' is not a directory", dir));
  if (const auto problem = directory_write_problem(dir))
    throw UsageError(fmt::format("--plot: directory '{}' is not writable ({})", dir, *problem));
}

std::vector<std::string> write_plots(const analysis::Results& results, const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> images;
  for (const analysis::Plot& plot : analysis::build_plots(results)) {
    const fs::path script = fs::path(dir) / (plot.name + ".gp");
    {
      std::ofstream out(script);
      out << plot.script;
      if (!out) throw std::runtime_error(fmt::format("cannot write {}", script.string()));
    }
    // The script names its outputs relative to its own directory.
    const std::string command = fmt::format("cd '{}' && gnuplot '{}' 2>&1", dir, plot.name + ".gp");
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run gnuplot");
    std::string output;
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        throw std::runtime_error("gnuplot not found: install it (apt-get install gnuplot-nox) to plot");
      throw std::runtime_error(fmt::format("gnuplot failed on {}: {}", script.string(),
                                           output.substr(0, output.find('\n'))));
    }
    for (const char* ext : {".svg", ".png"}) images.push_back((fs::path(dir) / (plot.name + ext)).string());
  }
  return images;
}

}  // namespace memprobe::harness
