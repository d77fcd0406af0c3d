// The reservation state file with the real binary (issue 13 row 15): a run
// holding a hugetlb reservation records it, removes the record when it
// restores the pool, and after a SIGKILL (which nothing can catch)
// `memprobe check` names the run and prints the command that shrinks the
// pool back. A private state directory (MEMPROBE_STATE_DIR) keeps the real
// one untouched. Root only (the pool is a sysfs write).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "harness/system_guard.h"
#include "tests/command_runner.h"
#include "tests/pool_lock.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;

const std::string kPool2M = testing::kHugetlbPool2MPath;
std::uint64_t read_pool() { return testing::read_hugetlb_pool_pages(); }

// The runs measure 4k pages before 2m (which uses the reservation: an unused
// one is refused), so a run is still holding the pool when the action comes
// after its first case, also where every hugetlb case is unavailable at once
// (no MAP_HUGETLB under qemu-user, a pool the kernel could not fill).
class ReservationStateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "--reserve-hugepages needs root (not root here)";
    if (!fs::exists(kPool2M)) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
    lock_.emplace();
    before_ = read_pool();
    dir_ = testing::make_temp_dir("memprobe-state");
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::ofstream(kPool2M) << before_ << "\n";  // whatever happened, the pool is back
    fs::remove_all(dir_);
  }

  std::string env() const { return "MEMPROBE_STATE_DIR=" + (dir_ / "state").string() + " "; }

  std::optional<testing::HugetlbPoolLock> lock_;
  std::uint64_t before_ = 0;
  fs::path dir_;
};

// While the run holds the pool, the state file names it; a normal end
// removes the file.
TEST_F(ReservationStateFileTest, RecordedWhileHeldAndRemovedOnRestore) {
  // The state directory copied once the first case has completed.
  const auto r = testing::run_after_first_case(
      env() + kMemprobe + " run --only latency --quick --pages 4k,2m --max-working-set 16MiB --reserve-hugepages " +
          std::to_string(before_ + 8),
      "cp -r " + (dir_ / "state").string() + " " + (dir_ / "copy").string() + "; echo $pid > " +
          (dir_ / "pid").string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const long pid = std::stol(testing::slurp(dir_ / "pid"));
  const fs::path copied = dir_ / "copy" / ("reservation-" + std::to_string(pid) + ".json");
  ASSERT_TRUE(fs::exists(copied)) << "no state file while the reservation was held";
  const auto state = harness::parse_reservation_state(testing::slurp(copied));
  ASSERT_TRUE(state.has_value()) << testing::slurp(copied);
  EXPECT_EQ(state->pid, pid);
  ASSERT_EQ(state->pools.size(), 1u);
  EXPECT_EQ(state->pools[0].previous_pages, before_);
  EXPECT_EQ(state->pools[0].requested_pages, before_ + 8);
  EXPECT_TRUE(fs::is_empty(dir_ / "state")) << "the state file outlived the restore";
  EXPECT_EQ(read_pool(), before_);
}

// SIGKILL: the pool stays raised; check says by which run, from and to what,
// and its command shrinks the pool back.
TEST_F(ReservationStateFileTest, CheckNamesAPoolAKilledRunLeftRaised) {
  const std::uint64_t raised = before_ + 8;
  const auto killed = testing::run_after_first_case(
      env() + kMemprobe + " run --only latency --pages 4k,2m --max-working-set 16MiB --reserve-hugepages " +
          std::to_string(raised) + " >/dev/null",
      "kill -KILL $pid; echo $pid");
  const std::string pid = killed.out.substr(0, killed.out.find('\n'));
  ASSERT_EQ(read_pool(), raised) << "the pool was not raised, or was restored: " << killed.err;

  const auto check = run_command_line(env() + kMemprobe + " check");
  ASSERT_EQ(check.exit_status, 0) << check.err;
  const std::string state_file = (dir_ / "state" / ("reservation-" + pid + ".json")).string();
  EXPECT_NE(check.out.find("raised by memprobe run " + pid + " (no longer running), from " + std::to_string(before_) +
                           " to " + std::to_string(raised) + " pages"),
            std::string::npos)
      << check.out;
  const std::string fix = "echo " + std::to_string(before_) + " > " + kPool2M + " && rm " + state_file;
  ASSERT_NE(check.out.find(fix), std::string::npos) << check.out;

  // The printed command does what it says.
  ASSERT_EQ(run_command_line("sh -c '" + fix + "'").exit_status, 0);
  EXPECT_EQ(read_pool(), before_);
  const auto after = run_command_line(env() + kMemprobe + " check");
  EXPECT_EQ(after.out.find("no longer running"), std::string::npos) << after.out;
}

}  // namespace
}  // namespace memprobe
