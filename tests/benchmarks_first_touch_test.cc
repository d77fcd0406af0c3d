// benchmarks/first_touch: the pagefault family's fault counts are exact —
// N fresh 4 KiB pages count N faults, a THP region one per 2 MiB, a populated
// region none, a cached file no major fault (control) and an evicted one a
// major fault per page — and the touch loop is one store per page.
#include "benchmarks/first_touch.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness/system_guard.h"

#include "core/buffer.h"
#include "core/units.h"
#include "tests/emulation.h"
#include "tests/pool_lock.h"

namespace memprobe::bench {
namespace {

constexpr double kSlackFaults = 2.0;  // stack or code pages touched around the loop

// A macro, not a function: GTEST_SKIP() in a helper would end only the helper.
#define SKIP_IF_UNCOUNTED(counter)                                                                          \
  do {                                                                                                      \
    if (!(counter).available()) GTEST_SKIP() << "software fault counters unavailable: " << (counter).reason(); \
  } while (false)

std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = text.find('['), close = text.find(']');
  return open == std::string::npos || close == std::string::npos ? "unsupported" : text.substr(open + 1, close - open - 1);
}

// Some tests share a fault counter with a 4 MiB ColdFile or a fresh 4 KiB
// mapping; the others make their own.
class FirstTouchTest : public ::testing::Test {
 protected:
  // counter_ and a 4 MiB file_, or the test skipped (faults not counted here, or no file).
  void create_cold_file() {
    counter_.emplace();
    SKIP_IF_UNCOUNTED(*counter_);
    auto file = ColdFile::create(4 * core::kMiB);
    if (!file) GTEST_SKIP() << file.error().reason;
    file_.emplace(std::move(*file));
  }
  std::size_t file_pages() const { return file_->size_bytes() / (4 * core::kKiB); }
  // Reads every 4 KiB page of file_, mapped afresh, counted by counter_.
  void read_file(TouchResult& touch) {
    auto data = file_->map();
    ASSERT_TRUE(data) << data.error().reason;
    touch = read_touch(*data, file_->size_bytes(), 4 * core::kKiB, *counter_);
    file_->unmap(*data);
  }

  // counter_ and a mapping_ of `pages` fresh 4 KiB pages, or the test skipped
  // (faults not counted here).
  void map_fresh_4k(std::size_t pages) {
    counter_.emplace();
    SKIP_IF_UNCOUNTED(*counter_);
    auto m = FreshMapping::map(core::PagePolicy::k4K, pages * 4 * core::kKiB);
    ASSERT_TRUE(m) << m.error().reason;
    mapping_.emplace(std::move(*m));
  }

  std::optional<FaultCounter> counter_;
  std::optional<ColdFile> file_;
  std::optional<FreshMapping> mapping_;
};

TEST_F(FirstTouchTest, FreshSmallPagesCountOneFaultEach) {
  constexpr std::size_t kPages = 3000;
  ASSERT_NO_FATAL_FAILURE(map_fresh_4k(kPages));
  if (IsSkipped()) return;
  FreshMapping& m = *mapping_;
  FaultCounter& counter = *counter_;
  ASSERT_EQ(m.pages(), kPages);
  const TouchResult r = first_touch(m, counter);
  ASSERT_TRUE(r.minor_faults && r.major_faults);
  EXPECT_NEAR(*r.minor_faults, static_cast<double>(kPages), kSlackFaults);
  EXPECT_EQ(*r.major_faults, 0.0);
  EXPECT_GT(r.tsc_ticks, 0u);

  // Touched again: already mapped, no faults.
  const TouchResult again = first_touch(m, counter);
  EXPECT_LE(*again.minor_faults, kSlackFaults);
}

TEST_F(FirstTouchTest, ThpCountsOneFaultPerHugePage) {
  if (thp_mode() == "never" || thp_mode() == "unsupported")
    GTEST_SKIP() << "THP is '" << thp_mode() << "' here: no huge faults to count";
  FaultCounter counter;
  SKIP_IF_UNCOUNTED(counter);
  constexpr std::size_t kHugePages = 8;
  auto m = FreshMapping::map(core::PagePolicy::kThp, kHugePages * 2 * core::kMiB);
  ASSERT_TRUE(m) << m.error().reason;
  const TouchResult r = first_touch(*m, counter);
  const auto backing = core::read_backing(m->data(), m->size_bytes(), core::PagePolicy::kThp);
  ASSERT_TRUE(backing) << backing.error().reason;
  if (backing->verified != "thp")
    GTEST_SKIP() << "THP allocation fell back (" << backing->how_verified << "): no free 2 MiB blocks now";
  EXPECT_NEAR(*r.minor_faults, static_cast<double>(kHugePages), 1.0);
}

TEST_F(FirstTouchTest, PopulatedRegionTakesNoTrap) {
  ASSERT_NO_FATAL_FAILURE(map_fresh_4k(2000));
  if (IsSkipped()) return;
  const auto populated = populate_write(mapping_->data(), mapping_->size_bytes(), *counter_);
  if (!populated) GTEST_SKIP() << populated.error().reason;
  EXPECT_LE(*populated->minor_faults, kSlackFaults) << "MADV_POPULATE_WRITE faults in the kernel, without a trap";
  const TouchResult r = first_touch(*mapping_, *counter_);
  EXPECT_LE(*r.minor_faults, kSlackFaults);
}

TEST_F(FirstTouchTest, HugetlbCountsOneFaultPerPageOrSaysWhyNot) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user places mmap(MAP_HUGETLB) itself, off the huge-page alignment (EINVAL)");
  FaultCounter counter;
  SKIP_IF_UNCOUNTED(counter);
  const std::size_t page = 2 * core::kMiB;
  // As root, reserve the two pages for the test (the guard restores the pool).
  memprobe::testing::HugetlbPoolLock pool_lock;
  std::ostringstream guard_log;
  harness::SystemGuard guard(guard_log);
  if (::geteuid() == 0 && hugetlb_pages_available(page) < 2) guard.reserve_hugepages(page, 2);
  auto m = FreshMapping::map(core::PagePolicy::kHugetlb2M, 2 * page);
  if (hugetlb_pages_available(page) < 2 && !m) {
    EXPECT_NE(m.error().reason.find("--reserve-hugepages"), std::string::npos) << m.error().reason;
    GTEST_SKIP() << "no 2 MiB hugetlb pool here: " << m.error().reason;
  }
  ASSERT_TRUE(m) << m.error().reason;
  const TouchResult r = first_touch(*m, counter);
  EXPECT_NEAR(*r.minor_faults, 2.0, 1.0);
}

TEST_F(FirstTouchTest, CachedFileTakesNoMajorFault) {
  create_cold_file();
  if (IsSkipped()) return;
  const auto resident = file_->resident_pages();
  ASSERT_TRUE(resident) << resident.error().reason;
  if (*resident == 0) GTEST_SKIP() << "the freshly written file is not in the page cache: no control possible";
  // Fresh data pages, just written: in the page cache (control).
  ASSERT_EQ(*resident, file_pages());
  TouchResult r;
  ASSERT_NO_FATAL_FAILURE(read_file(r));
  EXPECT_EQ(*r.major_faults, 0.0);
}

TEST_F(FirstTouchTest, EvictedFileTakesAMajorFaultPerPage) {
  create_cold_file();
  if (IsSkipped()) return;
  const auto still_resident = file_->evict();
  ASSERT_TRUE(still_resident) << still_resident.error().reason;
  if (*still_resident != 0) GTEST_SKIP() << *still_resident << " pages still resident after posix_fadvise(DONTNEED)";
  TouchResult r;
  ASSERT_NO_FATAL_FAILURE(read_file(r));
  const double pages = static_cast<double>(file_pages());
  EXPECT_NEAR(*r.major_faults, pages, 0.02 * pages);
}

TEST_F(FirstTouchTest, DiskBackedDirectoryIsNotTmpfs) {
  const auto dir = disk_backed_temp_dir();
  if (!dir) GTEST_SKIP() << dir.error().reason;
  EXPECT_FALSE(dir->empty());
}

#if defined(__x86_64__)  // AT&T syntax: the x86-64 listing
// The operands of one AT&T instruction, split at the commas outside
// parentheses: "$0x1,(%rdi,%rax,1)" is {"$0x1", "(%rdi,%rax,1)"}; the last
// is the destination.
std::vector<std::string> att_operands(const std::string& operands) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (const char c : operands) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) out.emplace_back();
    else out.back() += c;
  }
  return out;
}

// The first-touch loop is one store per page and nothing else touches memory.
TEST_F(FirstTouchTest, TouchLoopIsOneStorePerPage) {
  const std::string command =
      "objdump -d --no-show-raw-insn --disassemble=memprobe_touch_pages /proc/" + std::to_string(::getpid()) +
      "/exe 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) GTEST_SKIP() << "cannot run objdump";
  std::string text;
  std::array<char, 512> line{};
  while (std::fgets(line.data(), line.size(), pipe.get()) != nullptr) text += line.data();
  if (text.find("<memprobe_touch_pages>:") == std::string::npos) GTEST_SKIP() << "objdump not found or no symbol";
  int stores = 0;
  int loads = 0;
  std::istringstream rows(text);
  std::string row;
  while (std::getline(rows, row)) {
    // "  17:\tmovb   $0x1,(%rcx)": address, tab, mnemonic, spaces, operands.
    const auto tab = row.find(":\t");
    if (tab == std::string::npos) continue;
    std::istringstream insn(row.substr(tab + 2));
    std::string mnemonic;
    insn >> mnemonic;
    for (const char* prefix : {"rep", "repz", "repnz", "repe", "repne", "lock", "notrack", "data16"}) {
      if (mnemonic == prefix) insn >> mnemonic;
    }
    std::string operand_text;  // AT&T operands have no spaces; a "# 0x..." comment follows them
    insn >> operand_text;
    if (mnemonic.find("mov") == std::string::npos) continue;  // mov, movb, movzbl, cmov*, vmov*, movs
    if (operand_text.find('(') == std::string::npos) continue;
    const std::vector<std::string> operands = att_operands(operand_text);
    if (operands.size() < 2) continue;
    if (operands.back().find('(') != std::string::npos) ++stores;  // mov ...,(mem)
    else ++loads;                                                   // mov (mem),reg
  }
  EXPECT_EQ(stores, 1) << text;
  EXPECT_EQ(loads, 0) << text;
}
#endif

}  // namespace
}  // namespace memprobe::bench
