// Runs a command line through the shell and captures its exit status,
// stdout and stderr, for tests that drive the memprobe binary (also as an
// unprivileged user: UnprivilegedRunner).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace memprobe {

// The memprobe binary the tests run (MEMPROBE_BINARY, set by tests/CMakeLists.txt).
#ifdef MEMPROBE_BINARY
inline const std::string kMemprobe = MEMPROBE_BINARY;
#endif

}  // namespace memprobe

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

// A fresh directory (mkdtemp, mode 0700) under the temporary directory.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  return pattern;
}

// Runs `command` (a shell command line that starts memprobe; no single
// quotes, stderr not redirected) in the background with its stderr going to
// a temporary file, waits for its first completed case (the "[1/" progress
// line: there is then always something to keep, however slow the build),
// runs `action` (which may use $pid), then waits for the command: its exit
// status, stdout (with the action's) and stderr.
inline CommandResult run_after_first_case(const std::string& command, const std::string& action) {
  const auto dir = make_temp_dir("memprobe-first-case");
  const std::string err = (dir / "err").string();
  CommandResult r = run_command_line("sh -c '" + command + " 2>" + err +
                                     " & pid=$!; while kill -0 $pid 2>/dev/null && ! grep -q \"^\\[1/\" " + err +
                                     "; do sleep 0.1; done; " + action + "; wait $pid; status=$?; cat " + err +
                                     " >&2; exit $status'");
  std::filesystem::remove_all(dir);
  return r;
}

// Why the memprobe binary cannot be run under an address-space limit
// (prlimit --as) here, "" if it can: under ASan (the test is built like the
// binary) it reserves terabytes of shadow address space, so any such limit
// stops it at start; or prlimit is missing.
inline std::string address_space_limit_unavailable_reason() {
#if defined(__SANITIZE_ADDRESS__)
  return "under ASan the binary reserves terabytes of shadow address space: an RLIMIT_AS stops it at start";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return "under ASan the binary reserves terabytes of shadow address space: an RLIMIT_AS stops it at start";
#endif
#endif
  if (std::system("command -v prlimit >/dev/null 2>&1") != 0) return "prlimit (util-linux) is not installed";
  return "";
}

// Runs a copy of a binary as the unprivileged user nobody (uid and gid 65534,
// no supplementary groups) through util-linux's setpriv, for the checks that
// only bite without root. The build tree may be closed to that user (a fresh
// clone under mktemp -d is 0700), so the binary is copied into a fresh 0755
// directory first: memprobe links only system libraries, so the copy runs
// anywhere. In a cross build `binary` is the emulator wrapper, which names
// the real binary inside the build tree: then the real binary is copied and
// a wrapper next to it runs the copy under the same emulator. Only root can
// switch users: skip the test with unavailable_reason() first.
class UnprivilegedRunner {
 public:
  static constexpr int kUid = 65534;

  // Why it cannot run here ("" if it can): not root, or no setpriv.
  static std::string unavailable_reason() {
    if (::geteuid() != 0) return "switching to an unprivileged user needs root (not root here)";
    if (std::system("command -v setpriv >/dev/null 2>&1") != 0)
      return "setpriv (util-linux) is not installed";
    return "";
  }

  explicit UnprivilegedRunner(const std::filesystem::path& binary) : dir_(make_temp_dir("memprobe-nobody")) {
    namespace fs = std::filesystem;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    const auto readable_by_all = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec;
    binary_ = dir_ / binary.filename();
#if defined(MEMPROBE_EMULATOR) && defined(MEMPROBE_TARGET_BINARY)
    if (binary == fs::path(MEMPROBE_BINARY) && std::string(MEMPROBE_EMULATOR) != "") {
      const fs::path target = dir_ / "memprobe.target";
      fs::copy_file(MEMPROBE_TARGET_BINARY, target);
      fs::permissions(target, readable_by_all);
      std::ofstream(binary_) << "#!/bin/sh\nexec " << MEMPROBE_EMULATOR << " '" << target.string() << "' \"$@\"\n";
      fs::permissions(binary_, readable_by_all);
      return;
    }
#endif
    fs::copy_file(binary, binary_);
    fs::permissions(binary_, readable_by_all);
  }
  ~UnprivilegedRunner() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  UnprivilegedRunner(const UnprivilegedRunner&) = delete;
  UnprivilegedRunner& operator=(const UnprivilegedRunner&) = delete;

  // The copy with `args` appended (a shell command line), as nobody, from /
  // (the caller's working directory may be closed to nobody too).
  CommandResult run(const std::string& args) const {
    const std::string uid = std::to_string(kUid);
    return run_command_line("cd / && setpriv --reuid=" + uid + " --regid=" + uid + " --clear-groups " +
                            binary_.string() + " " + args);
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path binary_;
};

}  // namespace memprobe::testing
