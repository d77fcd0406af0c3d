#include "harness/plot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdlib.h>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "analysis/plots.h"
#include "analysis/table_format.h"
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

namespace {

// Runs `gnuplot SCRIPT` in `dir` with an argument vector: no shell, so no
// character of DIR or of the script's name is ever interpreted (a directory
// named "it's $(touch pwned)" is just a name). gnuplot's stdout and stderr
// are read back for the error message; its exit status decides.
void run_gnuplot(const std::string& dir, const std::string& script_name, const std::string& script_path) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot run gnuplot: pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  // The script names its outputs relative to its own directory.
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<char*> argv = {const_cast<char*>("gnuplot"), const_cast<char*>(script_name.c_str()), nullptr};
  pid_t pid = 0;
  const int spawn_error = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawn_error != 0) {
    ::close(pipe_fds[0]);
    // glibc reports a failed chdir in the child (DIR removed meanwhile) the same way.
    if (spawn_error == ENOENT && std::filesystem::is_directory(dir))
      throw std::runtime_error("gnuplot not found: install it (apt-get install gnuplot-nox) to plot");
    throw std::system_error(spawn_error, std::generic_category(), fmt::format("cannot run gnuplot in {}", dir));
  }
  std::string output;
  char buffer[256];
  for (;;) {
    const ssize_t got = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (output.size() < 4096) output.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "cannot run gnuplot: waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string first_line = output.substr(0, output.find('\n'));
  const std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                            : fmt::format("signal {}", WTERMSIG(status));
  throw std::runtime_error(fmt::format("gnuplot failed on {} ({}){}{}", script_path, how,
                                       first_line.empty() ? "" : ": ", analysis::escape_control(first_line)));
}

}  // namespace

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
    run_gnuplot(dir, plot.name + ".gp", script.string());
    for (const char* ext : {".svg", ".png"}) images.push_back((fs::path(dir) / (plot.name + ext)).string());
  }
  return images;
}

analysis::HtmlPlots svg_plots(const analysis::Results& results) {
  namespace fs = std::filesystem;
  analysis::HtmlPlots out;
  const std::vector<analysis::Plot> plots = analysis::build_plots(results);
  if (plots.empty()) return out;
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "memprobe-plots-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    out.note = fmt::format("plots left out: cannot make a temporary directory in {} ({})", base.string(),
                           std::generic_category().message(errno));
    return out;
  }
  const std::string dir = pattern;
  try {
    for (const std::string& image : write_plots(results, dir)) {
      if (!image.ends_with(".svg")) continue;
      std::ifstream in(image, std::ios::binary);
      std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in && !in.eof()) throw std::runtime_error(fmt::format("cannot read {}", image));
      const std::string name = fs::path(image).stem().string();
      const auto drawn = std::find_if(plots.begin(), plots.end(), [&](const analysis::Plot& p) { return p.name == name; });
      out.plots.push_back({name, std::move(svg), drawn != plots.end() ? drawn->caption : ""});
    }
  } catch (const std::exception& e) {
    out.plots.clear();
    const std::string what = e.what();
    out.note = what.starts_with("gnuplot not found")
                   ? "plots left out: gnuplot is not installed (apt-get install gnuplot-nox to draw them)"
                   : "plots left out: " + what;
  }
  fs::remove_all(dir, ec);
  return out;
}

}  // namespace memprobe::harness
