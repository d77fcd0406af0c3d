// Signals that would end a run (issue 13 rows 3 and 10): every terminating
// signal keeps the completed cases, restores the hugetlb pool and leaves no
// temporary file; a file size limit reached while writing (SIGXFSZ ignored,
// EFBIG) is a write error that leaves the old file and no temporary file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/results_json.h"
#include "harness/signals.h"
#include "tests/command_runner.h"
#include "tests/pool_lock.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

const std::string kPool2M = testing::kHugetlbPool2MPath;
using testing::read_hugetlb_pool_pages;

// memprobe with `args` (after `env_assignments`, e.g. "VAR=value"), and
// `action` once its first case completed. env --default-signal: a background
// job of sh starts with SIGINT and SIGQUIT ignored, and an ignored SIGQUIT
// stays ignored (nohup's rule).
testing::CommandResult after_first_case(const std::string& args, const std::string& action,
                                        const std::string& env_assignments = "") {
  return testing::run_after_first_case("env --default-signal " + env_assignments + " " + kMemprobe + " " + args,
                                       action);
}

TEST(SignalsTest, TerminatingSignalsAreTheAsynchronousOnes) {
  const auto signals = harness::terminating_signals();
  for (const int signo : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGRTMIN})
    EXPECT_NE(std::find(signals.begin(), signals.end(), signo), signals.end()) << harness::signal_name(signo);
  // Ignored instead (write errors), or not catchable, or the process's own faults.
  for (const int signo : {SIGPIPE, SIGXFSZ, SIGKILL, SIGSTOP, SIGSEGV, SIGABRT, SIGCHLD})
    EXPECT_EQ(std::find(signals.begin(), signals.end(), signo), signals.end()) << harness::signal_name(signo);
}

// SIGINT and SIGTERM are in CliTest.InterruptedRunKeepsCompletedCasesInAValidFile;
// every other terminating signal does the same.
TEST(SignalsTest, EveryTerminatingSignalKeepsTheCompletedCases) {
  for (const std::string signal : {"HUP", "QUIT", "ALRM", "USR1", "USR2", "XCPU"}) {
    SCOPED_TRACE("SIG" + signal);
    const fs::path dir = testing::make_temp_dir("memprobe-sig");
    const fs::path file = dir / "r.json";
    const auto r = after_first_case("run --only latency --pages 4k --max-working-set 16MiB --out " + file.string(),
                                    "kill -" + signal + " $pid");
    EXPECT_EQ(r.exit_status, 130) << r.err;
    EXPECT_NE(r.err.find("interrupted by SIG" + signal), std::string::npos) << r.err;
    EXPECT_FALSE(testing::temp_file_left(file));
    const analysis::Results results = analysis::load_results(file.string());
    EXPECT_EQ(results.interrupted, true);
    EXPECT_FALSE(results.cases.empty()) << "the cases completed before the signal are kept";
    fs::remove_all(dir);
  }
}

// SIGHUP (the terminal went away) during a run that reserved hugetlb pages:
// the pool is back, the state file is gone, the completed cases are kept.
TEST(SignalsTest, HangupDuringAReservingRunRestoresThePool) {
  if (::geteuid() != 0) GTEST_SKIP() << "--reserve-hugepages needs root (not root here)";
  if (!fs::exists(kPool2M)) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  testing::HugetlbPoolLock pool_lock;
  const std::uint64_t before = read_hugetlb_pool_pages();
  const fs::path dir = testing::make_temp_dir("memprobe-sighup");
  const fs::path file = dir / "r.json";
  // 4k pages first, then 2m (which uses the reservation: an unused one is
  // refused): the run is still measuring when the signal comes, also where
  // every hugetlb case is unavailable at once (no MAP_HUGETLB under qemu-user,
  // a pool the kernel could not fill).
  const auto r = after_first_case("run --only latency --pages 4k,2m --max-working-set 16MiB --reserve-hugepages " +
                                      std::to_string(before + 8) + " --out " + file.string(),
                                  "kill -HUP $pid", "MEMPROBE_STATE_DIR=" + (dir / "state").string());
  EXPECT_EQ(read_hugetlb_pool_pages(), before) << "the pool was not restored";
  EXPECT_EQ(r.exit_status, 130) << r.err;
  EXPECT_TRUE(fs::is_empty(dir / "state")) << "the reservation state file is left";
  EXPECT_FALSE(analysis::load_results(file.string()).cases.empty());
  fs::remove_all(dir);
}

// Issue 26: a script's background job starts with SIGINT ignored, and
// memprobe un-ignored it only when the measurement began, so a SIGINT at
// 0.05 s was dropped and the run went on to exit 0. Here the signal comes as
// early as any can: it is pending when memprobe starts (ignored, and blocked
// so that the kernel keeps it). It must stop the run with 128 + its number
// (exit status, or death by the signal, which a shell reports the same),
// leaving no results file or a valid interrupted one.
TEST(SignalsTest, SignalPendingAtStartUnderAnIgnoredDispositionStopsTheRun) {
  for (const int signo : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(std::string("SIG") + harness::signal_name(signo));
    const fs::path dir = testing::make_temp_dir("memprobe-early-signal");
    const fs::path file = dir / "r.json", err = dir / "err";
    std::vector<std::string> args = {kMemprobe, "run", "--only", "latency", "--quick", "--max-working-set", "1MiB",
                                     "--out", file.string()};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      ::sigaction(signo, &ignore, nullptr);
      sigset_t blocked;
      sigemptyset(&blocked);
      sigaddset(&blocked, signo);
      ::sigprocmask(SIG_BLOCK, &blocked, nullptr);
      ::kill(::getpid(), signo);
      const int out_fd = ::open("/dev/null", O_WRONLY);
      const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out_fd, STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const int shell_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    EXPECT_EQ(shell_status, 128 + signo) << testing::slurp(err);
    if (fs::exists(file)) {
      EXPECT_TRUE(analysis::load_results(file.string()).interrupted);
    }
    EXPECT_FALSE(testing::temp_file_left(file));
    fs::remove_all(dir);
  }
}

// Issue 13 row 10: the file size limit drops below the results file's size
// while the run measures (prlimit --pid): the write fails with EFBIG instead
// of SIGXFSZ killing the process; the old file and no temporary file remain.
TEST(SignalsTest, FileSizeLimitReachedWhileWritingIsAWriteError) {
  if (run_command_line("command -v prlimit").exit_status != 0) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  const fs::path dir = testing::make_temp_dir("memprobe-xfsz");
  const fs::path file = dir / "r.json";
  std::ofstream(file) << "the old file";
  const auto r = after_first_case("run --only latency --quick --pages 4k --max-working-set 16MiB --out " +
                                      file.string(),
                                  "prlimit --pid $pid --fsize=4096:4096");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  const auto lines = r.err_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("memprobe: error: cannot write " + file.string() + ".tmp.", 0), 0u) << lines.back();
  EXPECT_NE(lines.back().find("File too large"), std::string::npos) << lines.back();
  EXPECT_EQ(testing::slurp(file), "the old file");
  EXPECT_FALSE(testing::temp_file_left(file));
  EXPECT_NE(r.out.find("cache"), std::string::npos) << "the tables are still printed after the failed write";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
