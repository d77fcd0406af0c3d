// Runs a command line through the shell and captures its exit status,
// stdout and stderr, for tests that drive the memprobe binary.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace memprobe::testing {

struct CommandResult {
  int exit_status = -1;  // -1 if killed by a signal
  std::string out;
  std::string err;
  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// True if a temporary file of an atomic write of `path` (path + ".tmp...")
// is still next to it.
inline bool temp_file_left(const std::filesystem::path& path) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::string prefix = path.filename().string() + ".tmp";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  return false;
}

inline CommandResult run_command_line(const std::string& command_line) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("memprobe-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  const std::string full = command_line + " >" + (dir / "out").string() + " 2>" + (dir / "err").string() +
                           " </dev/null";
  const int status = std::system(full.c_str());
  CommandResult result;
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(dir / "out");
  result.err = slurp(dir / "err");
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace memprobe::testing
