// Output paths the process cannot write, and flags that need root: refused
// with one line naming the path or the flag and exit status 2, before
// anything is measured. Drives the memprobe binary as root (a read-only
// tmpfs: EROFS even for root) and as the unprivileged user nobody (a 0555
// directory: EACCES; --reserve-hugepages), through
// testing::UnprivilegedRunner.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "analysis/results_json.h"
#include "tests/command_runner.h"
#include "tests/expect_error_line.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::expect_one_error_line;
using testing::UnprivilegedRunner;

// The cheapest run there is, should a check fail to stop it.
const std::string kQuickRun = "run --only latency --quick --pages 4k";

// A directory tree (if any) removed by the destructor; not copyable.
class OwnedTree {
 public:
  OwnedTree() = default;
  explicit OwnedTree(fs::path root) : root_(std::move(root)) {}
  ~OwnedTree() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }
  OwnedTree(const OwnedTree&) = delete;
  OwnedTree& operator=(const OwnedTree&) = delete;

 protected:
  fs::path root_;
};

// A fresh directory with a read-only tmpfs mounted on it, unmounted and
// removed again by the destructor; skip_reason() says why there is none.
class ReadOnlyTmpfs : private OwnedTree {
 public:
  ReadOnlyTmpfs() {
    if (::geteuid() != 0) {
      skip_reason_ = "mounting a tmpfs needs root (not root here)";
      return;
    }
    root_ = testing::make_temp_dir("memprobe-rofs");
    if (::mount("tmpfs", root_.c_str(), "tmpfs", MS_RDONLY, "size=64k") != 0) {
      skip_reason_ = std::string("cannot mount a read-only tmpfs here: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  // Unmounted before ~OwnedTree removes the directory.
  ~ReadOnlyTmpfs() {
    if (mounted_) ::umount(root_.c_str());
  }

  const std::string& skip_reason() const { return skip_reason_; }
  const fs::path& dir() const { return root_; }

 private:
  bool mounted_ = false;
  std::string skip_reason_;
};

// A fresh directory of mode 0555 (root can still write there; nobody cannot),
// inside a 0755 one nobody can reach, with a results file next to it that
// nobody can read.
class ReadOnlyDirectory : private OwnedTree {
 public:
  ReadOnlyDirectory() : OwnedTree(testing::make_temp_dir("memprobe-ro")) {
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    dir_ = root_ / "ro";
    fs::create_directory(dir_);
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    results_ = root_ / "r.json";
    analysis::Results results;
    results.command = "memprobe run (a test's empty results)";
    analysis::write_results_atomic(results_.string(), results);
    fs::permissions(results_, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                  fs::perms::others_read);
  }

  const fs::path& dir() const { return dir_; }
  const fs::path& results() const { return results_; }

 private:
  fs::path dir_;
  fs::path results_;
};

TEST(PermissionsTest, OutOnAReadOnlyFilesystemIsRefusedEvenForRoot) {
  const ReadOnlyTmpfs rofs;
  if (!rofs.skip_reason().empty()) GTEST_SKIP() << rofs.skip_reason();
  const auto r = testing::run_command_line(kMemprobe + " " + kQuickRun + " --out " + (rofs.dir() / "r.json").string());
  expect_one_error_line(r, "--out on a read-only tmpfs", {"--out", rofs.dir().string(), "Read-only file system"});
}

TEST(PermissionsTest, PlotOnAReadOnlyFilesystemIsRefusedEvenForRoot) {
  const ReadOnlyTmpfs rofs;
  if (!rofs.skip_reason().empty()) GTEST_SKIP() << rofs.skip_reason();
  const ReadOnlyDirectory files;  // for its results file
  const auto r = testing::run_command_line(kMemprobe + " report " + files.results().string() + " --plot " +
                                           rofs.dir().string());
  expect_one_error_line(r, "--plot on a read-only tmpfs", {"--plot", rofs.dir().string(), "Read-only file system"});
  const auto below = testing::run_command_line(kMemprobe + " report " + files.results().string() + " --plot " +
                                               (rofs.dir() / "plots").string());
  expect_one_error_line(below, "--plot below a read-only tmpfs",
                        {"--plot", (rofs.dir() / "plots").string(), "Read-only file system"});
}

// Root may write into a 0555 directory, so only someone else gets refused.
TEST(PermissionsTest, OutInA0555DirectoryIsRefusedForAnUnprivilegedUser) {
  if (const std::string why = UnprivilegedRunner::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const ReadOnlyDirectory ro;
  const UnprivilegedRunner nobody(kMemprobe);
  const auto r = nobody.run(kQuickRun + " --out " + (ro.dir() / "r.json").string());
  expect_one_error_line(r, "--out in a 0555 directory as nobody", {"--out", ro.dir().string(), "Permission denied"});
  EXPECT_FALSE(fs::exists(ro.dir() / "r.json"));
}

TEST(PermissionsTest, PlotInA0555DirectoryIsRefusedForAnUnprivilegedUser) {
  if (const std::string why = UnprivilegedRunner::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const ReadOnlyDirectory ro;
  const UnprivilegedRunner nobody(kMemprobe);
  const auto r = nobody.run("report " + ro.results().string() + " --plot " + ro.dir().string());
  expect_one_error_line(r, "--plot into a 0555 directory as nobody", {"--plot", ro.dir().string(), "Permission denied"});
  const auto below = nobody.run("report " + ro.results().string() + " --plot " + (ro.dir() / "plots").string());
  expect_one_error_line(below, "--plot below a 0555 directory as nobody",
                        {"--plot", (ro.dir() / "plots").string(), "Permission denied"});
}

// A results file the user may not read: report and compare say which file
// and why, in one line.
TEST(PermissionsTest, UnreadableResultsFileIsRefusedForAnUnprivilegedUser) {
  if (const std::string why = UnprivilegedRunner::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const ReadOnlyDirectory ro;
  fs::permissions(ro.results(), fs::perms::owner_read | fs::perms::owner_write);  // 0600, root's
  const UnprivilegedRunner nobody(kMemprobe);
  const std::string file = ro.results().string();
  expect_one_error_line(nobody.run("report " + file), "report of a 0600 file as nobody", {file, "Permission denied"});
  expect_one_error_line(nobody.run("compare " + file + " " + file), "compare of a 0600 file as nobody",
                        {file, "Permission denied"});
}

// The pools are only written by root: without it the flag is refused while
// the plan is validated, before the CPU is pinned or the clock calibrated.
TEST(PermissionsTest, ReservingHugepagesWithoutRootIsRefusedBeforeMeasuring) {
  if (const std::string why = UnprivilegedRunner::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const UnprivilegedRunner nobody(kMemprobe);
  expect_one_error_line(nobody.run(kQuickRun + " --reserve-hugepages 4"), "--reserve-hugepages as nobody",
                        {"--reserve-hugepages needs root"});
  expect_one_error_line(nobody.run(kQuickRun + " --reserve-hugepages-1g 1"), "--reserve-hugepages-1g as nobody",
                        {"--reserve-hugepages-1g needs root"});
}

}  // namespace
}  // namespace memprobe
