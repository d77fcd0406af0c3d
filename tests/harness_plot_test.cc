// harness::write_plots: gnuplot is run with an argument vector, never through
// a shell, and nothing a results file or a directory name holds becomes a
// command (issue 13, row 2).
#include "harness/plot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "analysis/derived.h"

namespace memprobe::harness {
namespace {

namespace fs = std::filesystem;

bool gnuplot_installed() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

// Every path named "pwned" under `root`.
std::vector<fs::path> pwned_files(const fs::path& root) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename() == "pwned") found.push_back(it->path());
  return found;
}

// Latency and hugepage points whose strings carry the payloads: a backquoted
// command in the CPU model (gnuplot runs `...` inside double quotes) and a
// newline plus system() in a page name (a datablock name is not quoted).
analysis::Results hostile_results() {
  analysis::Results r;
  r.machine.cpu_model = "CPU `touch pwned` $(touch pwned) it's";
  r.machine.caches = {{1, "data", 32768, 64, 8}};
  const std::string evil_page = "4k\nsystem('touch pwned')\n#";
  for (const std::string& page : {std::string("4k"), evil_page}) {
    for (double bytes : {4096.0, 65536.0, 1048576.0}) {
      analysis::Case c;
      c.family = "latency";
      c.name = "latency/" + page;
      c.params = {{"page", page}, {"working_set_bytes", bytes}};
      c.metrics = {{"ns_per_load", bytes > 40000 ? 4.0 : 1.0}};
      r.cases.push_back(c);
    }
  }
  r.derived.extra["hugepage"] = nlohmann::json::array(
      {{{"page", evil_page}, {"working_set_bytes", 65536.0}, {"ns_per_load", 4.0}, {"backing_verified", true}}});
  return r;
}

TEST(PlotTest, QuotesAndCommandSubstitutionInTheDirectoryReachNoShell) {
  if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)";
  const fs::path root = fs::temp_directory_path() / ("memprobe-plot-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path dir = root / "it's $(touch pwned)";
  // A shell would run in the current directory: make that the root too.
  const fs::path previous = fs::current_path();
  fs::current_path(root);
  check_plot_directory(dir.string());
  std::vector<std::string> images;
  std::string error;
  try {
    images = write_plots(hostile_results(), dir.string());
  } catch (const std::exception& e) {
    error = e.what();
  }
  fs::current_path(previous);
  EXPECT_EQ(error, "");
  ASSERT_FALSE(images.empty());
  for (const std::string& image : images) {
    EXPECT_EQ(fs::path(image).parent_path(), dir);
    EXPECT_GT(fs::file_size(image), 0u) << image;
  }
  EXPECT_EQ(pwned_files(root), std::vector<fs::path>{});
  EXPECT_EQ(pwned_files(previous), std::vector<fs::path>{});
  fs::remove_all(root);
}

TEST(PlotTest, AGnuplotFailureIsAnErrorNamingTheScript) {
  if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)";
  const fs::path root = fs::temp_directory_path() / ("memprobe-plot-fail-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  analysis::Results r = hostile_results();
  // gnuplot cannot write its output over a directory of the same name.
  fs::create_directories(root / "latency.svg" / "x");
  std::string error;
  try {
    write_plots(r, root.string());
  } catch (const std::exception& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("gnuplot failed on " + (root / "latency.gp").string()), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  fs::remove_all(root);
}

}  // namespace
}  // namespace memprobe::harness
