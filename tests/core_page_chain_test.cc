// The page-spread chain (tlb and pagewalk families): N distinct pages, one
// line each, and the touched lines spread over the cache sets by design, so
// the chase's data stays cache-resident while only the TLB sees the page count.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/buffer.h"
#include "core/chain.h"
#include "core/units.h"

namespace memprobe::core {
namespace {

constexpr std::size_t kLineBytes = 64;
// A 32 KiB, 8-way L1d with 64 B lines: 64 sets, indexed by address bits 6..11
// (virtually indexed, so virtual addresses decide).
constexpr std::size_t kL1Sets = 32 * kKiB / 8 / kLineBytes;

class PageAlignedMemory {
 public:
  PageAlignedMemory(std::size_t bytes, std::size_t align)
      : align_(align), data_(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{align}))), bytes_(bytes) {
    std::fill_n(data_, bytes_, std::byte{0});
  }
  ~PageAlignedMemory() { ::operator delete(data_, std::align_val_t{align_}); }
  PageAlignedMemory(const PageAlignedMemory&) = delete;
  PageAlignedMemory& operator=(const PageAlignedMemory&) = delete;
  std::span<std::byte> bytes() const { return {data_, bytes_}; }
  std::byte* data() const { return data_; }

 private:
  std::size_t align_;
  std::byte* data_;
  std::size_t bytes_;
};

std::size_t l1_set(const std::byte* p) { return (reinterpret_cast<std::uintptr_t>(p) / kLineBytes) % kL1Sets; }

TEST(PageChainTest, VisitsNDistinctPagesOneLineEach) {
  constexpr std::size_t kPageBytes = 4 * kKiB;
  PageAlignedMemory memory(1024 * kPageBytes, kPageBytes);
  for (std::size_t pages : {8u, 63u, 64u, 72u, 500u, 1024u}) {
    const Chain chain = build_page_chain(memory.bytes(), kPageBytes, kLineBytes, pages, 42);
    const auto visited = walk_chain(chain.head, 2 * pages);
    ASSERT_EQ(visited.size(), pages) << "one cycle over " << pages << " pages";
    std::set<std::size_t> page_numbers;
    for (const std::byte* p : visited) page_numbers.insert(static_cast<std::size_t>(p - memory.data()) / kPageBytes);
    EXPECT_EQ(page_numbers.size(), pages);
    EXPECT_LT(*page_numbers.rbegin(), pages) << "the first N pages, consecutive (no power-of-two page strides)";
  }
}

TEST(PageChainTest, UpToLinesPerPageEveryLineHasItsOwnCacheSet) {
  constexpr std::size_t kPageBytes = 4 * kKiB;
  PageAlignedMemory memory(kL1Sets * kPageBytes, kPageBytes);
  for (std::size_t pages = 1; pages <= kL1Sets; ++pages) {
    const auto visited = walk_chain(build_page_chain(memory.bytes(), kPageBytes, kLineBytes, pages, 7).head, pages);
    std::set<std::size_t> sets;
    for (const std::byte* p : visited) sets.insert(l1_set(p));
    ASSERT_EQ(sets.size(), pages) << pages << " pages: two lines share an L1 set";
  }
}

TEST(PageChainTest, BeyondLinesPerPageTheSetsFillEvenly) {
  // 512 pages = 8 lines per set: exactly fills a 64-set, 8-way L1d, never 9.
  constexpr std::size_t kPageBytes = 4 * kKiB;
  for (std::size_t pages : {100u, 512u, 1000u}) {
    PageAlignedMemory memory(pages * kPageBytes, kPageBytes);
    const auto visited = walk_chain(build_page_chain(memory.bytes(), kPageBytes, kLineBytes, pages, 3).head, pages);
    std::map<std::size_t, std::size_t> per_set;
    for (const std::byte* p : visited) ++per_set[l1_set(p)];
    const std::size_t most = (pages + kL1Sets - 1) / kL1Sets;
    for (const auto& [set, lines] : per_set) EXPECT_LE(lines, most) << "set " << set << " at " << pages << " pages";
    EXPECT_EQ(per_set.size(), kL1Sets);
  }
}

TEST(PageChainTest, HugePagesSpreadOverMoreSetsThanL1Has) {
  // With 2 MiB "pages" the rotation runs over 32768 line slots: consecutive
  // pages use consecutive sets of any cache with up to 32768 sets.
  constexpr std::size_t kPageBytes = 2 * kMiB;
  constexpr std::size_t kPages = 8;
  PageAlignedMemory memory(kPages * kPageBytes, kPageBytes);
  const auto visited = walk_chain(build_page_chain(memory.bytes(), kPageBytes, kLineBytes, kPages, 5).head, kPages);
  std::set<std::size_t> slots;
  for (const std::byte* p : visited) slots.insert((static_cast<std::size_t>(p - memory.data()) % kPageBytes) / kLineBytes);
  EXPECT_EQ(slots, (std::set<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(PageChainTest, SpacedPagesGiveEachLoadItsOwnPageTableLine) {
  // pagewalk's cold-PTE variant: a "page" of 32 KiB = 8 PTEs of 8 bytes, one
  // 64 B page-table line per touched page.
  constexpr std::size_t kSpacing = 32 * kKiB;
  constexpr std::size_t kPages = 64;
  PageAlignedMemory memory(kPages * kSpacing, 4 * kKiB);
  const auto visited = walk_chain(build_page_chain(memory.bytes(), kSpacing, kLineBytes, kPages, 9).head, kPages);
  std::set<std::size_t> pte_lines;
  for (const std::byte* p : visited) {
    const std::size_t page_4k = static_cast<std::size_t>(p - memory.data()) / (4 * kKiB);
    pte_lines.insert(page_4k * 8 / kLineBytes);  // which 64 B line of the page table holds its PTE
  }
  EXPECT_EQ(pte_lines.size(), kPages);
}


// The associativity probe's chain: k lines exactly one way stride apart all
// fall in one set of a level with that way stride (checked by address
// arithmetic for a 1 MiB 16-way L2: 1024 sets, 64 KiB ways), in one cycle
// over exactly k nodes.
TEST(StridedCycleTest, LinesOneWayStrideApartShareOneSetInOneCycle) {
  constexpr std::size_t kWayStride = 64 * kKiB;
  constexpr std::size_t kSets = kWayStride / kLineBytes;
  constexpr std::size_t kLines = 20;
  PageAlignedMemory memory((kLines + 1) * kWayStride, 4096);
  const std::size_t offset = 37 * kLineBytes;
  const Chain chain = build_strided_cycle(memory.bytes().subspan(offset), kWayStride, kLines, kLineBytes, 0, 5);
  EXPECT_EQ(chain.length, kLines);
  const auto visited = walk_chain(chain.head, 4 * kLines);
  ASSERT_EQ(visited.size(), kLines) << "one cycle over exactly k nodes";
  std::set<const std::byte*> distinct(visited.begin(), visited.end());
  EXPECT_EQ(distinct.size(), kLines);
  const auto set_of = [&](const std::byte* p) {
    return (static_cast<std::size_t>(p - memory.data()) / kLineBytes) % kSets;
  };
  for (const std::byte* p : visited) {
    EXPECT_EQ((static_cast<std::size_t>(p - memory.data()) - offset) % kWayStride, 0u);
    EXPECT_EQ(set_of(p), set_of(visited.front()));
  }
  // Half the way stride: the same lines spread over exactly two sets.
  const Chain half = build_strided_cycle(memory.bytes(), kWayStride / 2, kLines, kLineBytes, 0, 5);
  std::set<std::size_t> sets;
  for (const std::byte* p : walk_chain(half.head, kLines)) sets.insert(set_of(p));
  EXPECT_EQ(sets.size(), 2u);
}

// The DTLB stride probe's chain: one line per page s pages apart, the lines
// rotated within the page, so consecutive pages use different L1 sets and
// every node's page number is a multiple of s (what the DTLB's set index sees).
TEST(StridedCycleTest, PageStridedLinesRotateWithinThePage) {
  constexpr std::size_t kPageBytes = 4096;
  constexpr std::size_t kStridePages = 8;
  constexpr std::size_t kPages = 70;
  PageAlignedMemory memory(kPages * kStridePages * kPageBytes, kPageBytes);
  const Chain chain =
      build_strided_cycle(memory.bytes(), kStridePages * kPageBytes, kPages, kLineBytes, kPageBytes, 9);
  const auto visited = walk_chain(chain.head, 2 * kPages);
  ASSERT_EQ(visited.size(), kPages);
  std::map<std::size_t, std::size_t> per_set;
  for (const std::byte* p : visited) {
    const std::size_t offset = static_cast<std::size_t>(p - memory.data());
    EXPECT_EQ(offset / kPageBytes % kStridePages, 0u) << "every node in a page s pages apart";
    ++per_set[l1_set(p)];
  }
  // 70 pages over 64 sets: no set holds more than two of the lines.
  EXPECT_EQ(per_set.size(), kL1Sets);
  for (const auto& [set, count] : per_set) EXPECT_LE(count, 2u) << "set " << set;
}

TEST(StridedCycleTest, RefusesMoreNodesThanTheMemoryHolds) {
  PageAlignedMemory memory(4 * 4096, 4096);
  EXPECT_THROW(build_strided_cycle(memory.bytes(), 4096, 5, kLineBytes, 0, 1), std::invalid_argument);
  EXPECT_THROW(build_strided_cycle(memory.bytes(), 4096, 2, kLineBytes, 8192, 1), std::invalid_argument);
}

TEST(CycleAtTest, OneCycleOverExactlyTheGivenOffsets) {
  PageAlignedMemory memory(16 * 4096, 4096);
  const std::vector<std::size_t> offsets = {0, 4096 + 64, 3 * 4096 + 128, 9 * 4096 + 8, 15 * 4096 + 4088};
  const Chain chain = build_cycle_at(memory.bytes(), offsets, 3);
  EXPECT_EQ(chain.length, offsets.size());
  const auto visited = walk_chain(chain.head, 4 * offsets.size());
  ASSERT_EQ(visited.size(), offsets.size());
  std::set<std::size_t> seen;
  for (const std::byte* p : visited) seen.insert(static_cast<std::size_t>(p - memory.data()));
  EXPECT_EQ(seen, std::set<std::size_t>(offsets.begin(), offsets.end()));
  EXPECT_THROW(build_cycle_at(memory.bytes(), {16 * 4096}, 1), std::invalid_argument);
  EXPECT_THROW(build_cycle_at(memory.bytes(), {12}, 1), std::invalid_argument);
}

// /proc/self/pagemap: as root, two lines of one touched page are one page
// frame apart by their offset; without CAP_SYS_ADMIN the kernel hides PFNs
// and the answer is "unknown", never a made-up address.
TEST(PhysicalAddressTest, LinesOfOnePageShareItsFrame) {
  auto buffer = Buffer::allocate(2 * base_page_bytes(), PagePolicy::k4K);
  ASSERT_TRUE(buffer) << buffer.error().reason;
  const std::vector<const void*> lines = {buffer->data() + 64, buffer->data() + 1024};
  const auto physical = physical_addresses(lines);
  if (!physical)
    GTEST_SKIP() << "/proc/self/pagemap gives no page frame numbers here (not root: the kernel reads them as 0; "
                    "or an emulator's pagemap)";
  ASSERT_EQ(physical->size(), 2u);
  EXPECT_EQ((*physical)[1] - (*physical)[0], 1024u - 64u);
  EXPECT_EQ((*physical)[0] % base_page_bytes(), 64u);
}

}  // namespace
}  // namespace memprobe::core
