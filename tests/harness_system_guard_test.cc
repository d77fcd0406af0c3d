// harness/system_guard: a reserved hugetlb pool is back at its previous size
// after the guard is destroyed, and after the process dies of SIGINT or
// SIGTERM mid-reservation. Root only (the pool is a sysfs write).
#include "harness/system_guard.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/units.h"
#include "harness/plan.h"
#include "tests/pool_lock.h"

namespace memprobe::harness {
namespace {

constexpr std::size_t k2MiB = 2 * core::kMiB;

std::optional<std::uint64_t> pool_pages(std::size_t page_bytes) {
  std::ifstream in(hugetlb_pool_path(page_bytes));
  std::uint64_t value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

class SystemGuardTest : public ::testing::Test {
 protected:
  memprobe::testing::HugetlbPoolLock pool_lock_;  // held from before SetUp reads the pool
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "not root: reserving hugetlb pages needs root";
    const auto pages = pool_pages(k2MiB);
    if (!pages) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
    before_ = *pages;
  }
  void TearDown() override {
    // Never leave the pool changed, even when an assertion failed midway.
    if (::geteuid() == 0 && pool_pages(k2MiB) && *pool_pages(k2MiB) != before_) {
      std::ofstream(hugetlb_pool_path(k2MiB)) << before_ << "\n";
    }
  }
  std::uint64_t before_ = 0;
};

TEST_F(SystemGuardTest, ReservesThenRestoresOnDestruction) {
  std::ostringstream log;
  {
    SystemGuard guard(log);
    const HugepageReservation r = guard.reserve_hugepages(k2MiB, before_ + 2);
    EXPECT_EQ(r.previous_pages, before_);
    EXPECT_EQ(r.requested_pages, before_ + 2);
    EXPECT_TRUE(r.changed);
    EXPECT_GE(*pool_pages(k2MiB), r.granted_pages);
    EXPECT_GT(r.granted_pages, before_) << "the kernel granted no 2 MiB page at all";
    EXPECT_NE(log.str().find("restored on exit"), std::string::npos) << log.str();
  }
  EXPECT_EQ(*pool_pages(k2MiB), before_);
  EXPECT_NE(log.str().find("restored"), std::string::npos) << log.str();
}

TEST_F(SystemGuardTest, NeverShrinksAPool) {
  std::ostringstream log;
  SystemGuard guard(log);
  const HugepageReservation r = guard.reserve_hugepages(k2MiB, before_);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(*pool_pages(k2MiB), before_);
}

// A child reserves and then dies of `signo`; the pool must be restored by
// the guard's handler before the default action ends the child.
void expect_restored_after_signal(int signo, std::uint64_t before) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::ostringstream log;
    SystemGuard guard(log);
    const HugepageReservation r = guard.reserve_hugepages(k2MiB, before + 2);
    if (r.granted_pages <= before) ::_exit(3);  // nothing reserved: the test cannot tell
    ::raise(signo);
    ::_exit(4);  // not reached: the default action terminates
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT_EQ(WTERMSIG(status), signo);
  EXPECT_EQ(*pool_pages(k2MiB), before);
}

TEST_F(SystemGuardTest, RestoresOnSigint) { expect_restored_after_signal(SIGINT, before_); }
TEST_F(SystemGuardTest, RestoresOnSigterm) { expect_restored_after_signal(SIGTERM, before_); }

// The parent kills the child from outside while it holds the reservation.
TEST_F(SystemGuardTest, RestoresWhenKilledFromOutside) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    std::ostringstream log;
    SystemGuard guard(log);
    guard.reserve_hugepages(k2MiB, before_ + 2);
    const char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  EXPECT_GT(*pool_pages(k2MiB), before_);
  ASSERT_EQ(::kill(child, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
  EXPECT_EQ(*pool_pages(k2MiB), before_);
}

// Started with SIGINT ignored (nohup, a background job): the signal cannot
// end the run, so the guard leaves it ignored and restores on destruction.
TEST_F(SystemGuardTest, LeavesAnIgnoredSignalIgnored) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGINT, SIG_IGN);
    std::ostringstream log;
    {
      SystemGuard guard(log);
      const HugepageReservation r = guard.reserve_hugepages(k2MiB, before_ + 2);
      ::raise(SIGINT);  // ignored: still running, still reserved
      if (pool_pages(k2MiB).value_or(0) != r.granted_pages) ::_exit(6);
    }
    ::_exit(pool_pages(k2MiB).value_or(0) == before_ ? 0 : 7);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the ignored SIGINT ended the child";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "6: pool changed by the ignored signal, 7: not restored at exit";
  EXPECT_EQ(*pool_pages(k2MiB), before_);
}

// Returns an exit status: 0 if reserve_hugepages refused with the message.
int refusal_status() {
  std::ostringstream log;
  SystemGuard guard(log);
  try {
    guard.reserve_hugepages(k2MiB, 1);
    return 1;
  } catch (const UsageError& e) {
    return std::string(e.what()).find("--reserve-hugepages needs root") != std::string::npos ? 0 : 2;
  }
}

TEST(SystemGuardUsageTest, RefusesWithoutRoot) {
  if (::geteuid() != 0) {
    EXPECT_EQ(refusal_status(), 0);
    return;
  }
  // As root: observe the refusal in a child that gives up root first.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setresuid(65534, 65534, 65534) != 0) ::_exit(5);
    ::_exit(refusal_status());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not refused, 2: wrong message, 5: cannot drop root";
}

}  // namespace
}  // namespace memprobe::harness
