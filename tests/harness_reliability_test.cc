// Failure paths of `memprobe run` that need the real binary and the real
// system: a full disk while writing results, mmap refused, and noise under
// CPU contention.
// Properties only (exit status, file contents, flags), never timings.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "analysis/results_json.h"
#include "core/machine.h"
#include "core/units.h"
#include "tests/command_runner.h"
#include "tests/emulation.h"

namespace memprobe {
namespace {

using testing::run_command_line;

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// mmap refused (an address-space limit smaller than the working set): the
// curve is unavailable with the errno and the limit named, the run ends
// normally and its file is valid.
TEST(ReliabilityTest, RefusedMmapMakesTheCurveUnavailableWithTheReason) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user itself cannot start under the address-space limit the test sets");
  if (const std::string reason = testing::address_space_limit_unavailable_reason(); !reason.empty())
    GTEST_SKIP() << reason;
  const auto available = core::mem_available_bytes();
  if (!available || *available < 2 * core::kGiB)
    GTEST_SKIP() << "--max-working-set 512MiB needs 1 GiB MemAvailable (half of it may be used)";
  const auto out = fresh_dir("memprobe-mmap") / "r.json";
  const auto r = run_command_line("prlimit --as=" + std::to_string(256 * core::kMiB) + " " + kMemprobe +
                                  " run --only latency --quick --pages 4k --max-working-set 512MiB --out " +
                                  out.string());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const analysis::Results results = analysis::load_results(out.string());
  bool named = false;
  for (const auto& u : results.unavailable)
    named |= u.what == "latency/4k" && u.reason.find("cannot mmap") != std::string::npos &&
             u.reason.find("ENOMEM") != std::string::npos && u.reason.find("RLIMIT_AS") != std::string::npos;
  EXPECT_TRUE(named) << r.out;
  for (const auto& c : results.cases) EXPECT_NE(c.family, "latency") << c.name << " cannot have been measured";
  EXPECT_NE(r.out.find("unavailable: latency/4k: cannot mmap"), std::string::npos) << r.out;
  std::filesystem::remove_all(out.parent_path());
}

// A results file that cannot be written completely (ENOSPC) leaves the old
// one byte for byte intact, no temporary file, and one error line. The disk
// has room when the run starts (too little is refused before measuring:
// OutputPathTest.RefusesTooLittleSpaceOrFileSizeLimit) and fills up while it
// measures.
TEST(ReliabilityTest, FullDiskKeepsTheOldResultsFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tiny tmpfs (not root here)";
  const auto dir = fresh_dir("memprobe-fulldisk");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  analysis::Results old;
  old.command = "an older run";
  analysis::write_results_atomic((dir / "r.json").string(), old);
  const std::string before = testing::slurp(dir / "r.json");

  // After the first case, another writer takes all the space that is left.
  const auto r = testing::run_after_first_case(
      kMemprobe + " run --only latency --quick --pages 4k --out " + (dir / "r.json").string(),
      "cat /dev/zero > " + (dir / "filler").string() + " 2>/dev/null");
  const std::string after = testing::slurp(dir / "r.json");
  const bool tmp_left = testing::temp_file_left(dir / "r.json");
  ::umount(dir.c_str());
  std::filesystem::remove_all(dir);

  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(after, before);
  EXPECT_FALSE(tmp_left);
  const auto lines = r.err_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("memprobe: error: cannot write", 0), 0u) << lines.back();
  EXPECT_NE(lines.back().find("No space left on device"), std::string::npos) << lines.back();
}

// Another process competing for the pinned CPU makes repetitions differ:
// the run must flag it (spread.noisy in the file), whatever the machine.
TEST(ReliabilityTest, CpuContentionIsFlaggedAsNoise) {
  MEMPROBE_SKIP_IF_EMULATED("the test is the spread of real timings under CPU contention");
  if (std::system("command -v stress-ng >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "stress-ng is not installed (scripts/setup.sh installs it)";
  const auto dir = fresh_dir("memprobe-noise");
  const auto path = dir / "r.json";
  // stress-ng on the same CPU as memprobe, for longer than the run takes.
  const auto r = run_command_line("sh -c 'stress-ng --cpu 1 --taskset 0 --timeout 60s --quiet & s=$!; " + kMemprobe +
                                  " run --only latency --quick --pages 4k --cpu 0 --out " + path.string() +
                                  "; rc=$?; kill $s; wait $s; exit $rc'");
  ASSERT_EQ(r.exit_status, 0) << r.err;
  const analysis::Results results = analysis::load_results(path.string());
  std::size_t noisy = 0;
  for (const analysis::Case& c : results.cases) {
    EXPECT_EQ(c.spread.noisy, analysis::spread_pct(c.spread) > analysis::kNoisySpreadPct) << c.name;
    noisy += c.spread.noisy;
  }
  EXPECT_GT(noisy, 0u) << "no case flagged noisy under CPU contention";
  EXPECT_NE(r.out.find("!"), std::string::npos) << "tables flag noisy figures";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace memprobe
