// Output paths and output errors of the memprobe binary: --out replaces only
// a regular file (or creates one), everything that could make the final
// write fail is refused before measuring (exit 2, one line), and a write
// error on standard output is exit 1 with one line, never 0.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command_line;

// Small enough to finish in seconds; what matters is whether it starts.
const std::string kQuickRun = " run --only latency --quick --pages 4k --max-working-set 1MiB";

// The smallest results value the loader accepts.
analysis::Results minimal_results() {
  analysis::Results results;
  results.machine.logical_cpus = 1;
  return results;
}

// Refused before anything ran: status 2, a single `memprobe: error: --out`
// line naming every word of `words` (so not even "pinned to CPU" was printed).
void expect_refused(const CommandResult& r, const std::string& what, std::vector<std::string> words) {
  words.insert(words.begin(), "memprobe: error: --out");
  testing::expect_one_error_line(r, what, words);
}

// Issue 13 rows 1 and 19: /dev/null, /dev/full, a FIFO, a symbolic link,
// /proc and /sys are refused, and the device is still a device afterwards.
TEST(OutputPathTest, RefusesEverythingButARegularFileBeforeMeasuring) {
  const fs::path dir = testing::make_temp_dir("memprobe-outpath");
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  std::ofstream(dir / "target.json") << "{}";
  fs::create_symlink(dir / "target.json", dir / "link.json");

  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out /dev/null"), "/dev/null",
                 {"/dev/null", "character device", "only regular files"});
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out /dev/full"), "/dev/full", {"character device"});
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out " + fifo.string()), "FIFO", {"a FIFO"});
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out " + (dir / "link.json").string()), "symlink",
                 {"symbolic link"});
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out /proc/memprobe-test.json"), "/proc",
                 {"proc", "kernel interface"});
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out /sys/memprobe-test.json"), "/sys",
                 {"sysfs", "kernel interface"});

  struct stat null_stat {};
  ASSERT_EQ(::stat("/dev/null", &null_stat), 0);
  EXPECT_TRUE(S_ISCHR(null_stat.st_mode)) << "/dev/null was replaced";
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_symlink(dir / "link.json"));
  fs::remove_all(dir);
}

// The final write can also only replace a regular file, whatever the caller
// checked before (a path that changed since).
TEST(OutputPathTest, AtomicWriteReplacesOnlyARegularFile) {
  const fs::path dir = testing::make_temp_dir("memprobe-atomic");
  const fs::path fifo = dir / "r.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  analysis::Results results = minimal_results();
  results.command = "test";
  try {
    analysis::write_results_atomic(fifo.string(), results);
    ADD_FAILURE() << "a FIFO was replaced";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(testing::temp_file_left(fifo));
  // A regular file, and a new one, are written.
  const fs::path regular = dir / "new.json";
  analysis::write_results_atomic(regular.string(), results);
  analysis::write_results_atomic(regular.string(), results);
  EXPECT_EQ(analysis::load_results(regular.string()).command, "test");
  fs::remove_all(dir);
}

// Issue 13 row 8: a name whose temporary file ("NAME.tmp.PID") exceeds
// NAME_MAX, and a path whose temporary path exceeds PATH_MAX.
TEST(OutputPathTest, RefusesNamesTooLongForTheTemporaryFile) {
  const fs::path dir = testing::make_temp_dir("memprobe-longname");
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  ASSERT_GT(name_max, 10);
  // The name itself fits; with ".tmp.<pid>" it does not.
  const std::string name(static_cast<std::size_t>(name_max) - 2, 'n');
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out " + (dir / name).string()), "NAME_MAX",
                 {"too long", std::to_string(name_max)});

  // Directories of long names down to where a 100-200 byte file name makes
  // the path PATH_MAX - 1 bytes: valid itself, too long with ".tmp.<pid>".
  fs::path deep = dir;
  const auto name_room = [&] { return static_cast<std::size_t>(PATH_MAX) - 2 - deep.string().size(); };
  while (name_room() > 200) deep /= std::string(std::min<std::size_t>(200, name_room() - 101), 'd');
  fs::create_directories(deep);
  const std::string file(name_room(), 'f');
  const fs::path long_path = deep / file;
  ASSERT_EQ(long_path.string().size(), static_cast<std::size_t>(PATH_MAX - 1));
  expect_refused(run_command_line(kMemprobe + kQuickRun + " --out " + long_path.string()), "PATH_MAX",
                 {"too long", std::to_string(PATH_MAX - 1)});
  fs::remove_all(dir);
}

// chattr +i: the rename would fail with EPERM after the whole run.
TEST(OutputPathTest, RefusesAnImmutableFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "chattr +i needs root (not root here)";
  if (run_command_line("command -v chattr").exit_status != 0) GTEST_SKIP() << "chattr (e2fsprogs) is not installed";
  // The temporary directory may be a tmpfs (no inode flags): try the build tree's filesystem too.
  for (const fs::path& base : std::vector<fs::path>{fs::temp_directory_path(), "/var/tmp", fs::current_path()}) {
    std::error_code ec;
    const fs::path dir = base / ("memprobe-immutable-" + std::to_string(::getpid()));
    fs::create_directories(dir, ec);
    if (ec) continue;
    const fs::path target = dir / "r.json";
    std::ofstream(target) << "old";
    if (run_command_line("chattr +i " + target.string()).exit_status != 0) {
      fs::remove_all(dir, ec);
      continue;
    }
    const auto r = run_command_line(kMemprobe + kQuickRun + " --out " + target.string());
    run_command_line("chattr -i " + target.string());
    expect_refused(r, "chattr +i", {"cannot replace", "immutable"});
    EXPECT_EQ(testing::slurp(target), "old");
    fs::remove_all(dir);
    return;
  }
  GTEST_SKIP() << "chattr +i does not work on any filesystem tried (temporary directory, /var/tmp, working directory)";
}

// Another user's file in a sticky directory (/tmp-like): only its owner may
// rename over it, so an unprivileged run is refused before measuring.
TEST(OutputPathTest, RefusesAnotherUsersFileInAStickyDirectory) {
  const std::string unavailable = testing::UnprivilegedRunner::unavailable_reason();
  if (!unavailable.empty()) GTEST_SKIP() << unavailable;
  const fs::path dir = testing::make_temp_dir("memprobe-sticky");
  fs::permissions(dir, fs::perms::all | fs::perms::sticky_bit);  // 1777, owned by root
  const fs::path target = dir / "r.json";
  std::ofstream(target) << "root's";
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::group_write | fs::perms::others_read | fs::perms::others_write);
  const testing::UnprivilegedRunner nobody(kMemprobe);
  const auto r = nobody.run(kQuickRun + " --out " + target.string());
  expect_refused(r, "sticky directory", {"cannot replace", "sticky"});
  EXPECT_EQ(testing::slurp(target), "root's");
  fs::remove_all(dir);
}

// Too little space, or a file size limit, for a results file.
TEST(OutputPathTest, RefusesTooLittleSpaceOrFileSizeLimit) {
  if (run_command_line("command -v prlimit").exit_status == 0) {
    const fs::path dir = testing::make_temp_dir("memprobe-fsize");
    const auto r = run_command_line("prlimit --fsize=65536 " + kMemprobe + kQuickRun + " --out " +
                                    (dir / "r.json").string());
    expect_refused(r, "ulimit -f 64 KiB", {"RLIMIT_FSIZE", "64 KiB"});
    fs::remove_all(dir);
  }
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root (not root here)";
  const fs::path dir = testing::make_temp_dir("memprobe-small");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  const auto r = run_command_line(kMemprobe + kQuickRun + " --out " + (dir / "r.json").string());
  ::umount(dir.c_str());
  fs::remove_all(dir);
  expect_refused(r, "64 KiB tmpfs", {"free", "needs up to"});
}

// Issue 13 row 6: output that cannot be written is exit 1 and one line.
TEST(OutputPathTest, StandardOutputWriteErrorIsExitOne) {
  const fs::path dir = testing::make_temp_dir("memprobe-stdout");
  analysis::Results results = minimal_results();
  results.command = "memprobe run";
  const fs::path file = dir / "r.json";
  analysis::write_results_atomic(file.string(), results);
  for (const std::string& args : std::vector<std::string>{"list", "--version", "--help", "check", "report " + file.string()}) {
    SCOPED_TRACE(args);
    const auto r = run_command_line("sh -c '" + kMemprobe + " " + args + " >/dev/full'");
    EXPECT_EQ(r.exit_status, 1) << r.err;
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0], "memprobe: error: cannot write to standard output: No space left on device");
  }
  fs::remove_all(dir);
}

// A run whose standard output is full: without --out nothing would keep the
// figures, so it stops before measuring; with --out the file is written
// and the status is still 1.
TEST(OutputPathTest, RunToAFullStandardOutputKeepsTheFileAndFails) {
  const auto bare = run_command_line("sh -c '" + kMemprobe + kQuickRun + " >/dev/full'");
  EXPECT_EQ(bare.exit_status, 1) << bare.err;
  EXPECT_EQ(bare.err.find("[1/"), std::string::npos) << "measured although nothing could keep the figures";
  EXPECT_NE(bare.err.find("cannot write to standard output"), std::string::npos) << bare.err;

  const fs::path dir = testing::make_temp_dir("memprobe-fullout");
  const fs::path file = dir / "r.json";
  const auto r = run_command_line("sh -c '" + kMemprobe + kQuickRun + " --out " + file.string() + " >/dev/full'");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  const auto lines = r.err_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "memprobe: error: cannot write to standard output: No space left on device");
  EXPECT_FALSE(analysis::load_results(file.string()).cases.empty());
  fs::remove_all(dir);
}

// Issue 13 row 3: a reader that goes away (`| head -c 1`). SIGPIPE is
// ignored, EPIPE is a write error: exit 1 after the results file is written.
TEST(OutputPathTest, ClosedPipeIsAWriteErrorAfterTheFileIsWritten) {
  if (run_command_line("command -v bash").exit_status != 0) GTEST_SKIP() << "bash is not installed";
  const fs::path dir = testing::make_temp_dir("memprobe-pipe");
  const fs::path file = dir / "r.json";
  const auto r = run_command_line("bash -c '" + kMemprobe + kQuickRun + " --out " + file.string() +
                                  " | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}'");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  const auto lines = r.err_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "memprobe: error: cannot write to standard output: Broken pipe");
  EXPECT_FALSE(analysis::load_results(file.string()).cases.empty());
  EXPECT_FALSE(testing::temp_file_left(file));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
