#include "core/buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/units.h"
#include "tests/emulation.h"
#include "tests/pool_lock.h"

namespace memprobe::core {
namespace {

bool is_root() { return ::geteuid() == 0; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool thp_never() {
  const std::string mode = read_file("/sys/kernel/mm/transparent_hugepage/enabled");
  return mode.empty() || mode.find("[never]") != std::string::npos;
}

// Pages of the buffer mincore() reports as not resident.
std::size_t nonresident_pages(const Buffer& buffer) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> residency((buffer.size_bytes() + page - 1) / page);
  if (::mincore(buffer.data(), buffer.size_bytes(), residency.data()) != 0) return residency.size();
  std::size_t missing = 0;
  for (unsigned char r : residency) missing += (r & 1) == 0;
  return missing;
}

// ---- Page sizes come from the system, never an assumed 4 KiB ----

TEST(PageSizeTest, BasePageIsSysconfsAndThpIsTheKernelsPmdSize) {
  EXPECT_EQ(base_page_bytes(), static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  const std::string pmd = read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
  if (!pmd.empty()) {
    EXPECT_EQ(thp_page_bytes(), std::stoull(pmd));
  }
  // 2 MiB (x86-64, arm64 with 4 KiB pages), 32 MiB (16 KiB), 512 MiB (64 KiB).
  EXPECT_GT(thp_page_bytes(), base_page_bytes());
  EXPECT_EQ(thp_page_bytes() & (thp_page_bytes() - 1), 0U) << "not a power of two";
}

TEST(PageSizeTest, HugepagesDirectoryNamesParseToBytes) {
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-64kB"), 64 * kKiB);          // arm64 cont-PTE
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-2048kB"), 2 * kMiB);
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-32768kB"), 32 * kMiB);       // arm64 cont-PMD
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-524288kB"), 512 * kMiB);     // arm64 64 KiB-page PMD
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-1048576kB"), kGiB);
  EXPECT_EQ(parse_hugepages_dir_name("hugepages-16777216kB"), 16 * kGiB);
  for (const char* bad : {"hugepages-kB", "hugepages-2048", "hugepages-0kB", "hugepages-20x8kB", "hugepages--1kB",
                          "nr_hugepages", "", "hugepages-99999999999999999999kB"}) {
    EXPECT_EQ(parse_hugepages_dir_name(bad), std::nullopt) << bad;
  }
}

TEST(PageSizeTest, HugetlbPageSizesListEveryPoolAscending) {
  const std::string dir = ::testing::TempDir() + "memprobe-hugepages-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  // An arm64 kernel with 4 KiB pages offers these four pool sizes.
  for (const char* name : {"hugepages-1048576kB", "hugepages-64kB", "hugepages-32768kB", "hugepages-2048kB", "other"})
    std::filesystem::create_directories(dir + "/" + name);
  EXPECT_EQ(hugetlb_page_sizes(dir), (std::vector<std::size_t>{64 * kKiB, 2 * kMiB, 32 * kMiB, kGiB}));
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(hugetlb_page_sizes(dir).empty());
  // This kernel: each size listed is a pool directory that exists.
  for (const std::size_t bytes : hugetlb_page_sizes())
    EXPECT_TRUE(hugetlb_total_pages(bytes).has_value()) << bytes;
}

TEST(PagePolicyTest, NamesRoundTrip) {
  for (const PagePolicy policy : kAllPagePolicies) EXPECT_EQ(parse_page_policy(cli_name(policy)), policy);
  EXPECT_EQ(parse_page_policy("2m"), PagePolicy::kHugetlb2M);
  EXPECT_EQ(parse_page_policy("1g"), PagePolicy::kHugetlb1G);
  EXPECT_EQ(parse_page_policy("2M"), std::nullopt);
  EXPECT_EQ(parse_page_policy(""), std::nullopt);
  EXPECT_EQ(requested_page_bytes(PagePolicy::k4K), base_page_bytes());
  EXPECT_EQ(requested_page_bytes(PagePolicy::kThp), thp_page_bytes());
  EXPECT_EQ(requested_page_bytes(PagePolicy::kHugetlb2M), 2 * kMiB);
  EXPECT_EQ(requested_page_bytes(PagePolicy::kHugetlb1G), kGiB);
}

TEST(SmapsTest, ParsesARecordedBlock) {
  // One VMA of an 8 MiB THP buffer, as this kernel prints it (header line removed).
  const char* block =
      "Size:               8192 kB\n"
      "KernelPageSize:        4 kB\n"
      "MMUPageSize:           4 kB\n"
      "Rss:                8192 kB\n"
      "Pss:                8192 kB\n"
      "Pss_Dirty:          8192 kB\n"
      "Shared_Clean:          0 kB\n"
      "Private_Dirty:      8192 kB\n"
      "Anonymous:          8192 kB\n"
      "AnonHugePages:      8192 kB\n"
      "ShmemPmdMapped:        0 kB\n"
      "FilePmdMapped:         0 kB\n"
      "Shared_Hugetlb:        0 kB\n"
      "Private_Hugetlb:       0 kB\n"
      "THPeligible:           1\n"
      "VmFlags: rd wr mr mw me ac sd hg \n";
  const SmapsFields f = parse_smaps_fields(block);
  EXPECT_EQ(f.size_kb, 8192U);
  EXPECT_EQ(f.rss_kb, 8192U);
  EXPECT_EQ(f.anon_huge_kb, 8192U);
  EXPECT_EQ(f.kernel_page_kb, 4U);
  EXPECT_EQ(f.private_hugetlb_kb, 0U);
  EXPECT_EQ(f.shared_hugetlb_kb, 0U);

  const char* hugetlb =
      "Size:               6144 kB\n"
      "KernelPageSize:     2048 kB\n"
      "MMUPageSize:        2048 kB\n"
      "Rss:                   0 kB\n"
      "AnonHugePages:         0 kB\n"
      "Shared_Hugetlb:        0 kB\n"
      "Private_Hugetlb:    6144 kB\n"
      "VmFlags: rd wr mr mw me de ht ";  // last line without a newline
  const SmapsFields h = parse_smaps_fields(hugetlb);
  EXPECT_EQ(h.size_kb, 6144U);
  EXPECT_EQ(h.kernel_page_kb, 2048U);
  EXPECT_EQ(h.private_hugetlb_kb, 6144U);
  EXPECT_EQ(h.rss_kb, 0U);

  EXPECT_EQ(parse_smaps_fields("").size_kb, 0U);
}

TEST(BufferTest, ZeroBytesIsUnavailableWithAReason) {
  for (const PagePolicy policy : kAllPagePolicies) {
    const auto buffer = Buffer::allocate(0, policy);
    ASSERT_FALSE(buffer.has_value());
    EXPECT_FALSE(buffer.error().reason.empty());
  }
}

TEST(BufferTest, ImpossibleSizeIsUnavailableWithTheErrno) {
  // 1 EiB: beyond any user address space, so mmap fails whatever the
  // overcommit mode (a size it could map would then be populated).
  const auto buffer = Buffer::allocate(std::size_t{1} << 60, PagePolicy::k4K);
  ASSERT_FALSE(buffer.has_value());
  EXPECT_NE(buffer.error().reason.find("cannot mmap"), std::string::npos) << buffer.error().reason;
  EXPECT_NE(buffer.error().reason.find("ENOMEM"), std::string::npos) << buffer.error().reason;
}

TEST(BufferTest, SmallPagesAreVerifiedAndResident) {
  const auto buffer = Buffer::allocate(8 * kMiB + 100, PagePolicy::k4K);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  EXPECT_EQ(buffer->size_bytes(), 8 * kMiB + base_page_bytes());  // rounded up to the page
  EXPECT_EQ(buffer->policy(), PagePolicy::k4K);
  EXPECT_EQ(buffer->bytes().size(), buffer->size_bytes());
  const Backing& b = buffer->backing();
  EXPECT_EQ(b.requested, PagePolicy::k4K);
  EXPECT_EQ(b.verified, "4k") << b.how_verified;
  EXPECT_EQ(b.huge_fraction, 0.0);
  EXPECT_EQ(b.page_bytes, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  EXPECT_TRUE(b.matches_request());
  EXPECT_NE(b.how_verified.find("AnonHugePages 0/"), std::string::npos) << b.how_verified;
  EXPECT_EQ(nonresident_pages(*buffer), 0U);
}

TEST(BufferTest, MoveTransfersOwnership) {
  auto first = Buffer::allocate(64 * kKiB, PagePolicy::k4K);
  ASSERT_TRUE(first.has_value()) << first.error().reason;
  std::byte* data = first->data();
  Buffer moved(std::move(first).value());
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(moved.size_bytes(), 64 * kKiB);
  auto other = Buffer::allocate(4 * kKiB, PagePolicy::k4K);
  ASSERT_TRUE(other.has_value());
  *other = std::move(moved);  // the old 4 KiB mapping is released here
  EXPECT_EQ(other->data(), data);
  EXPECT_EQ(other->size_bytes(), 64 * kKiB);
  data[0] = std::byte{1};  // still mapped
}

TEST(BufferTest, ThpIsVerifiedHuge) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user drops madvise(MADV_HUGEPAGE), so the kernel never sees the request");
  if (thp_never()) GTEST_SKIP() << "THP is 'never' here (/sys/kernel/mm/transparent_hugepage/enabled)";
  const auto buffer = Buffer::allocate(8 * kMiB, PagePolicy::kThp);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->data()) % (2 * kMiB), 0U);
  EXPECT_EQ(buffer->size_bytes(), 8 * kMiB);
  const Backing& b = buffer->backing();
  EXPECT_EQ(b.verified, "thp") << b.how_verified;
  EXPECT_EQ(b.huge_fraction, 1.0) << b.how_verified;
  EXPECT_EQ(b.page_bytes, 2 * kMiB);
  EXPECT_TRUE(b.matches_request()) << b.how_verified;
  EXPECT_NE(b.how_verified.find("AnonHugePages 8192/8192 kB"), std::string::npos) << b.how_verified;
  if (is_root() && ::access("/proc/kpageflags", R_OK) == 0) {
    EXPECT_NE(b.how_verified.find("pagemap+kpageflags 4/4"), std::string::npos) << b.how_verified;
  }
  EXPECT_EQ(nonresident_pages(*buffer), 0U);
}

TEST(BufferTest, ThpSizeRoundsUpToHugePages) {
  if (thp_never()) GTEST_SKIP() << "THP is 'never' here";
  const auto buffer = Buffer::allocate(3 * kMiB, PagePolicy::kThp);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  EXPECT_EQ(buffer->size_bytes(), 4 * kMiB);
}

TEST(BufferTest, ThpRequestOnSmallPagesSaysSo) {
  // The backing check of a THP request that got 4 KiB pages (what THP 'never'
  // or a failed fault gives): 4k, not huge, and not what was asked for.
  const auto buffer = Buffer::allocate(4 * kMiB, PagePolicy::k4K);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  const auto backing = read_backing(buffer->data(), buffer->size_bytes(), PagePolicy::kThp);
  ASSERT_TRUE(backing.has_value()) << backing.error().reason;
  EXPECT_EQ(backing->verified, "4k");
  EXPECT_EQ(backing->huge_fraction, 0.0);
  EXPECT_FALSE(backing->matches_request());
  EXPECT_NE(backing->how_verified.find("THP enabled="), std::string::npos) << backing->how_verified;
}

// True if /proc/self/maps lists any mapping overlapping [begin, begin + bytes).
bool anything_mapped(const void* begin, std::size_t bytes) {
  const auto lo = reinterpret_cast<std::uintptr_t>(begin);
  const std::uintptr_t hi = lo + bytes;
  std::istringstream maps(read_file("/proc/self/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    const auto dash = line.find('-');
    if (dash == std::string::npos) continue;
    const std::uintptr_t start = std::stoull(line.substr(0, dash), nullptr, 16);
    const std::uintptr_t end = std::stoull(line.substr(dash + 1), nullptr, 16);
    if (start < hi && end > lo) return true;
  }
  return false;
}

TEST(BufferTest, ReadBackingOfUnmappedRangeIsUnavailable) {
  // A hole that no other mapping fills while read_backing runs. A freshly
  // munmapped small hole is the kernel's first pick for the next small mmap
  // (under ASan the sanitizer runtime's own mmaps, made while read_backing
  // allocates, land in it), so map 64 MiB, free it all and ask about the
  // 64 KiB in its middle: the kernel puts a new mapping at the top (bottom-up
  // layout: the bottom) of a free gap, so 32 MiB of new mappings would have to
  // come first. /proc/self/maps afterwards confirms that the range was still
  // unmapped; if it was not, the answer proves nothing and the test tries
  // again with a new hole.
  constexpr std::size_t kReserve = 64 * kMiB;
  constexpr std::size_t kHole = 64 * kKiB;
  bool checked = false;
  for (int attempt = 0; attempt < 3 && !checked; ++attempt) {
    void* reserved = ::mmap(nullptr, kReserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_NE(reserved, MAP_FAILED);
    ASSERT_EQ(::munmap(reserved, kReserve), 0);
    const void* hole = static_cast<const char*>(reserved) + kReserve / 2;
    const auto backing = read_backing(hole, kHole, PagePolicy::k4K);
    if (anything_mapped(hole, kHole)) continue;
    checked = true;
    EXPECT_FALSE(backing.has_value()) << hole << ": " << backing->how_verified;
    if (!backing) {
      EXPECT_NE(backing.error().reason.find("not fully mapped"), std::string::npos) << backing.error().reason;
    }
  }
  EXPECT_TRUE(checked) << "a freed 64 MiB range was mapped again each time before it could be checked";

  // A range no user mapping can ever cover: above the user address space
  // (x86-64 with 5-level paging ends at 2^56, arm64 at 2^52).
  const auto* never_mapped = reinterpret_cast<const void*>(std::uintptr_t{1} << 63);
  const auto beyond = read_backing(never_mapped, kHole, PagePolicy::k4K);
  EXPECT_FALSE(beyond.has_value()) << beyond->how_verified;
}

// Sets a hugetlb pool to a size for one test and always puts the old size
// back (TearDown runs after a failed assertion too).
class HugetlbPool {
 public:
  explicit HugetlbPool(std::size_t page_bytes)
      : path_("/sys/kernel/mm/hugepages/hugepages-" + std::to_string(page_bytes / kKiB) + "kB/nr_hugepages") {
    old_ = hugetlb_total_pages(page_bytes);
  }
  bool exists() const { return old_.has_value(); }
  std::uint64_t old_pages() const { return old_.value_or(0); }
  bool set(std::uint64_t pages) {
    std::ofstream out(path_);
    out << pages << '\n';
    out.flush();
    changed_ = true;
    return static_cast<bool>(out);
  }
  void restore() {
    if (changed_ && old_) set(*old_);
    changed_ = false;
  }

 private:
  std::string path_;
  std::optional<std::uint64_t> old_;
  bool changed_ = false;
};

class HugetlbTest : public ::testing::Test {
 protected:
  memprobe::testing::HugetlbPoolLock pool_lock_;  // first member: held before the pools are read
  void TearDown() override {
    pool_2m_.restore();
    pool_1g_.restore();
  }
  HugetlbPool pool_2m_{2 * kMiB};
  HugetlbPool pool_1g_{kGiB};
};

TEST_F(HugetlbTest, TwoMegabytePagesAreVerifiedWhenReserved) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user places mmap(MAP_HUGETLB) itself, off the huge-page alignment (EINVAL)");
  if (!pool_2m_.exists()) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  constexpr std::uint64_t kPages = 3;
  if (!is_root()) {
    const auto buffer = Buffer::allocate(kPages * 2 * kMiB, PagePolicy::kHugetlb2M);
    if (hugetlb_free_pages(2 * kMiB).value_or(0) == 0) {
      ASSERT_FALSE(buffer.has_value());
      EXPECT_NE(buffer.error().reason.find("--reserve-hugepages"), std::string::npos) << buffer.error().reason;
      GTEST_SKIP() << "not root and no free 2 MiB hugetlb pages: checked the Unavailable reason only";
    }
    if (!buffer) GTEST_SKIP() << buffer.error().reason;
  }
  // Grow the pool by what the test needs, keeping pages others may be using.
  const std::uint64_t free_pages = hugetlb_free_pages(2 * kMiB).value_or(0);
  if (free_pages < kPages) pool_2m_.set(pool_2m_.old_pages() + kPages - free_pages);
  if (hugetlb_free_pages(2 * kMiB).value_or(0) < kPages) {
    GTEST_SKIP() << "the kernel could not provide " << kPages << " free 2 MiB hugetlb pages";
  }
  const auto buffer = Buffer::allocate(kPages * 2 * kMiB - 1000, PagePolicy::kHugetlb2M);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  EXPECT_EQ(buffer->size_bytes(), kPages * 2 * kMiB);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->data()) % (2 * kMiB), 0U);
  const Backing& b = buffer->backing();
  EXPECT_EQ(b.verified, "hugetlb-2m") << b.how_verified;
  EXPECT_EQ(b.huge_fraction, 1.0) << b.how_verified;
  EXPECT_EQ(b.page_bytes, 2 * kMiB);
  EXPECT_TRUE(b.matches_request());
  EXPECT_NE(b.how_verified.find("KernelPageSize 2048 kB"), std::string::npos) << b.how_verified;
  EXPECT_EQ(nonresident_pages(*buffer), 0U);
}

TEST_F(HugetlbTest, EmptyPoolIsUnavailableWithTheFix) {
  if (!pool_2m_.exists()) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  if (is_root()) {
    pool_2m_.set(0);  // pages in use elsewhere stay; only free ones go
  }
  const std::uint64_t free_pages = hugetlb_free_pages(2 * kMiB).value_or(0);
  if (free_pages > 0) GTEST_SKIP() << free_pages << " 2 MiB hugetlb pages are free (not root, or in use)";
  const auto buffer = Buffer::allocate(4 * kMiB, PagePolicy::kHugetlb2M);
  ASSERT_FALSE(buffer.has_value()) << "empty pool, yet " << buffer->backing().verified;
  const std::string& reason = buffer.error().reason;
  EXPECT_NE(reason.find("no free 2 MiB hugetlb pages (need 2, free 0)"), std::string::npos) << reason;
  // The flag names the pool's new total (pages in use elsewhere + the 2 needed);
  // other tests may hold pool pages at the same time, so only the flag is fixed.
  EXPECT_NE(reason.find("--reserve-hugepages "), std::string::npos) << reason;
  EXPECT_NE(reason.find("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), std::string::npos) << reason;
}

TEST_F(HugetlbTest, ShortPoolIsUnavailable) {
  if (!pool_2m_.exists()) GTEST_SKIP() << "this kernel has no 2 MiB hugetlb pool";
  if (!is_root()) GTEST_SKIP() << "needs root to size the pool";
  // One page fewer than needed.
  const std::uint64_t free_pages = hugetlb_free_pages(2 * kMiB).value_or(0);
  pool_2m_.set(pool_2m_.old_pages() - free_pages + 1);
  if (hugetlb_free_pages(2 * kMiB).value_or(0) != 1) GTEST_SKIP() << "could not set up exactly 1 free page";
  const auto buffer = Buffer::allocate(4 * kMiB, PagePolicy::kHugetlb2M);
  ASSERT_FALSE(buffer.has_value());
  EXPECT_NE(buffer.error().reason.find("need 2, free 1"), std::string::npos) << buffer.error().reason;
}

TEST_F(HugetlbTest, EmptyOneGigabytePoolIsUnavailable) {
  if (!pool_1g_.exists()) GTEST_SKIP() << "this kernel has no 1 GiB hugetlb pool";
  if (is_root()) pool_1g_.set(0);
  if (hugetlb_free_pages(kGiB).value_or(0) > 0) GTEST_SKIP() << "1 GiB hugetlb pages are free here";
  const auto buffer = Buffer::allocate(kGiB, PagePolicy::kHugetlb1G);
  ASSERT_FALSE(buffer.has_value());
  EXPECT_NE(buffer.error().reason.find("--reserve-hugepages-1g"), std::string::npos) << buffer.error().reason;
}

TEST_F(HugetlbTest, OneGigabytePageIsVerifiedWhenReserved) {
  MEMPROBE_SKIP_IF_EMULATED("qemu-user places mmap(MAP_HUGETLB) itself, off the huge-page alignment (EINVAL)");
  if (!pool_1g_.exists()) GTEST_SKIP() << "this kernel has no 1 GiB hugetlb pool";
  if (hugetlb_free_pages(kGiB).value_or(0) == 0) {
    if (!is_root()) GTEST_SKIP() << "not root and no free 1 GiB hugetlb page";
    pool_1g_.set(pool_1g_.old_pages() + 1);
    if (hugetlb_free_pages(kGiB).value_or(0) == 0) {
      GTEST_SKIP() << "the kernel could not provide a 1 GiB page at run time (fragmentation; "
                      "reserve at boot with hugepagesz=1G hugepages=1)";
    }
  }
  const auto buffer = Buffer::allocate(kGiB, PagePolicy::kHugetlb1G);
  ASSERT_TRUE(buffer.has_value()) << buffer.error().reason;
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->data()) % kGiB, 0U);
  const Backing& b = buffer->backing();
  EXPECT_EQ(b.verified, "hugetlb-1g") << b.how_verified;
  EXPECT_EQ(b.huge_fraction, 1.0);
  EXPECT_EQ(b.page_bytes, kGiB);
  EXPECT_TRUE(b.matches_request());
}

}  // namespace
}  // namespace memprobe::core
