// The hugetlb pool runs dry in the middle of a run (another process takes the
// pages memprobe planned for): the cases that needed them are reported
// unavailable with the reason, the run goes on and the results file is valid.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "analysis/results_json.h"
#include "benchmarks/first_touch.h"
#include "core/units.h"
#include "tests/pool_lock.h"
#include "tests/emulation.h"

namespace memprobe {
namespace {

const std::string kPool = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
constexpr std::uint64_t kPoolPages = 64;  // what the pagefault family touches at most

std::uint64_t read_pool() {
  std::ifstream in(kPool);
  std::uint64_t pages = 0;
  in >> pages;
  return pages;
}

bool write_pool(std::uint64_t pages) {
  std::ofstream out(kPool);
  out << pages;
  out.flush();
  return static_cast<bool>(out);
}

// Restores the pool whatever the test's outcome.
struct PoolRestorer {
  std::uint64_t pages;
  ~PoolRestorer() { write_pool(pages); }
};

// Every free 2 MiB page, held (faulted in) until destruction.
struct PoolHog {
  void* data = MAP_FAILED;
  std::size_t bytes = 0;
  explicit PoolHog(std::uint64_t pages) : bytes(pages * 2 * core::kMiB) {
    if (pages == 0) return;
    data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
                  -1, 0);
  }
  ~PoolHog() {
    if (data != MAP_FAILED) ::munmap(data, bytes);
  }
};

TEST(PoolExhaustionTest, PoolTakenMidRunMakesThoseCasesUnavailableAndTheRunGoesOn) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user places mmap(MAP_HUGETLB) itself, off the huge-page alignment (EINVAL)");
  if (::geteuid() != 0) GTEST_SKIP() << "growing the hugetlb pool needs root (not root here)";
  if (!std::filesystem::exists(kPool)) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  testing::HugetlbPoolLock pool_lock;
  const PoolRestorer restore{read_pool()};
  ASSERT_TRUE(write_pool(restore.pages + kPoolPages));
  if (bench::hugetlb_pages_available(2 * core::kMiB) < kPoolPages)
    GTEST_SKIP() << "could not grow the 2 MiB pool by " << kPoolPages << " pages (memory fragmented)";

  const auto out = std::filesystem::temp_directory_path() / ("memprobe-pooldry-" + std::to_string(::getpid()) + ".json");
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    std::freopen("/dev/null", "w", stdout);
    ::close(pipe_fds[0]);
    ::execl(MEMPROBE_BINARY, "memprobe", "run", "--only", "pagefault", "--pages", "4k,2m", "--quick", "--out",
            out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  FILE* err = ::fdopen(pipe_fds[0], "r");
  ASSERT_NE(err, nullptr);

  // The cases were registered for the full pool. After the first 4 KiB case
  // (the 2 MiB ones come later), stop memprobe, take every free page, go on.
  std::string stderr_text;
  std::unique_ptr<PoolHog> hog;
  char line[4096];
  while (std::fgets(line, sizeof line, err)) {
    stderr_text += line;
    if (!hog && std::string(line).find("pagefault/4k/cold") != std::string::npos) {
      ::kill(pid, SIGSTOP);
      hog = std::make_unique<PoolHog>(bench::hugetlb_pages_available(2 * core::kMiB));
      ::kill(pid, SIGCONT);
    }
  }
  std::fclose(err);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(hog) << "never saw the first case's progress line:\n" << stderr_text;
  ASSERT_NE(hog->data, MAP_FAILED) << "could not take the free pages";
  EXPECT_EQ(bench::hugetlb_pages_available(2 * core::kMiB), 0u);

  ASSERT_TRUE(WIFEXITED(status)) << stderr_text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << stderr_text;
  const analysis::Results results = analysis::load_results(out.string());
  bool measured_4k = false;
  for (const auto& c : results.cases) {
    EXPECT_EQ(c.name.find("pagefault/hugetlb-2m/"), std::string::npos) << c.name << " cannot have been measured";
    measured_4k |= c.name.rfind("pagefault/4k/", 0) == 0;
  }
  EXPECT_TRUE(measured_4k);
  bool reason_names_the_pool = false;
  bool file_case_ran = false;  // the case after the 2 MiB ones: measured or with its own reason
  for (const auto& u : results.unavailable) {
    if (u.what == "pagefault/hugetlb-2m")
      reason_names_the_pool = u.reason.find("hugetlb pages (need " + std::to_string(kPoolPages) + ", free 0)") !=
                              std::string::npos;
    file_case_ran |= u.what == "pagefault/file";
  }
  for (const auto& c : results.cases) file_case_ran |= c.name == "pagefault/file/major";
  EXPECT_TRUE(reason_names_the_pool) << stderr_text;
  EXPECT_TRUE(file_case_ran) << "the run must go on after the unavailable cases";
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace memprobe
