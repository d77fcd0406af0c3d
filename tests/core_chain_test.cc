#include "core/chain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <vector>

#include "core/units.h"

namespace memprobe::core {
namespace {

// Page-aligned heap memory, so node alignment inside it means alignment in memory.
class Arena {
 public:
  explicit Arena(std::size_t bytes)
      : storage_(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{4 * kKiB}))), bytes_(bytes) {
    std::fill_n(storage_, bytes_, std::byte{0});
  }
  ~Arena() { ::operator delete(storage_, std::align_val_t{4 * kKiB}); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  std::span<std::byte> bytes() const { return {storage_, bytes_}; }
  std::byte* data() const { return storage_; }

 private:
  std::byte* storage_;
  std::size_t bytes_;
};

std::size_t offset_in(const Arena& arena, const std::byte* p) {
  return static_cast<std::size_t>(p - arena.data());
}

TEST(ChainRngTest, BelowStaysInBoundsAndHitsEveryValue) {
  ChainRng rng(1);
  for (std::uint64_t bound : {1ULL, 2ULL, 3ULL, 7ULL, 1000ULL, (1ULL << 63) + 5, ~0ULL}) {
    for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.below(bound), bound) << "bound " << bound;
  }
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 7000; ++i) ++hits[rng.below(7)];
  for (std::size_t v = 0; v < hits.size(); ++v) EXPECT_GT(hits[v], 0) << "value " << v << " never drawn";
}

TEST(ChainRngTest, SameSeedSameDraws) {
  ChainRng a(42);
  ChainRng b(42);
  ChainRng c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.below(1'000'000);
    EXPECT_EQ(x, b.below(1'000'000));
    differs |= x != c.below(1'000'000);
  }
  EXPECT_TRUE(differs);
}

TEST(ChainTest, RandomCycleOrderIsOneCycle) {
  for (std::size_t n : {1U, 2U, 3U, 10U, 1000U}) {
    ChainRng rng(n);
    const std::vector<std::size_t> next = random_cycle_order(n, rng);
    ASSERT_EQ(next.size(), n);
    std::vector<bool> seen(n, false);
    std::size_t k = 0;
    for (std::size_t step = 0; step < n; ++step) {
      ASSERT_FALSE(seen[k]) << "n=" << n << ": index " << k << " visited twice";
      seen[k] = true;
      k = next[k];
    }
    EXPECT_EQ(k, 0U) << "n=" << n << ": not back at the start after n steps";
  }
}

TEST(ChainTest, RandomCycleVisitsEveryLineOnce) {
  constexpr std::size_t kNodeBytes = 64;
  constexpr std::size_t kNodes = 4096;
  Arena arena(kNodes * kNodeBytes);
  const Chain chain = build_random_cycle(arena.bytes(), kNodeBytes, kDefaultChainSeed);
  EXPECT_EQ(chain.length, kNodes);
  EXPECT_EQ(chain.stride_bytes, kNodeBytes);
  EXPECT_EQ(chain.seed, kDefaultChainSeed);

  const auto visited = walk_chain(chain.head, 2 * kNodes);
  ASSERT_EQ(visited.size(), kNodes) << "did not return to head after exactly N steps";
  std::set<const std::byte*> distinct(visited.begin(), visited.end());
  EXPECT_EQ(distinct.size(), kNodes);
  for (const std::byte* p : visited) {
    ASSERT_GE(p, arena.data());
    ASSERT_LT(offset_in(arena, p), kNodes * kNodeBytes);
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % kNodeBytes, 0U);
  }
}

TEST(ChainTest, RandomCycleIsNotSequential) {
  constexpr std::size_t kNodeBytes = 64;
  constexpr std::size_t kNodes = 1024;
  Arena arena(kNodes * kNodeBytes);
  const auto visited = walk_chain(build_random_cycle(arena.bytes(), kNodeBytes, 7).head, kNodes);
  std::size_t next_line_steps = 0;
  for (std::size_t i = 0; i + 1 < visited.size(); ++i) next_line_steps += visited[i + 1] - visited[i] == kNodeBytes;
  // A uniform random cycle has ~1 such step on average; the sequential chain has N-1.
  EXPECT_LT(next_line_steps, kNodes / 16);
}

TEST(ChainTest, SameSeedSameChainOtherSeedDifferent) {
  constexpr std::size_t kNodeBytes = 128;
  constexpr std::size_t kNodes = 512;
  Arena a(kNodes * kNodeBytes);
  Arena b(kNodes * kNodeBytes);
  Arena c(kNodes * kNodeBytes);
  const auto offsets = [](const Arena& arena, const Chain& chain) {
    std::vector<std::size_t> out;
    for (const std::byte* p : walk_chain(chain.head, chain.length)) out.push_back(offset_in(arena, p));
    return out;
  };
  const auto first = offsets(a, build_random_cycle(a.bytes(), kNodeBytes, 99));
  const auto again = offsets(b, build_random_cycle(b.bytes(), kNodeBytes, 99));
  const auto other = offsets(c, build_random_cycle(c.bytes(), kNodeBytes, 100));
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  EXPECT_EQ(other.size(), kNodes);
}

TEST(ChainTest, RandomCycleOverEmptyOrOneNode) {
  Arena arena(4 * kKiB);
  EXPECT_EQ(build_random_cycle(arena.bytes().first(32), 64, 1).head, nullptr);
  const Chain one = build_random_cycle(arena.bytes().first(64), 64, 1);
  ASSERT_EQ(one.length, 1U);
  EXPECT_EQ(walk_chain(one.head, 10).size(), 1U);  // a node pointing to itself
  EXPECT_THROW(build_random_cycle(arena.bytes(), 12, 1), std::invalid_argument);
}

TEST(ChainTest, PageGroupCycleNeverLeavesAGroupEarly) {
  constexpr std::size_t kNodeBytes = 64;
  constexpr std::size_t kPageBytes = 4 * kKiB;
  constexpr std::size_t kGroupPages = 4;
  constexpr std::size_t kGroupBytes = kGroupPages * kPageBytes;
  constexpr std::size_t kGroupNodes = kGroupBytes / kNodeBytes;
  // 10.5 groups: the last one is partial.
  const std::size_t bytes = 10 * kGroupBytes + kGroupBytes / 2;
  const std::size_t nodes = bytes / kNodeBytes;
  Arena arena(bytes);
  const Chain chain = build_page_group_cycle(arena.bytes(), kNodeBytes, kPageBytes, kGroupPages, 5);
  EXPECT_EQ(chain.length, nodes);

  const auto visited = walk_chain(chain.head, 2 * nodes);
  ASSERT_EQ(visited.size(), nodes) << "not one cycle over every node";
  EXPECT_EQ(std::set<const std::byte*>(visited.begin(), visited.end()).size(), nodes);

  // Cut the walk into runs of one group: each group appears as exactly one
  // run (counting the wrap-around), and the run holds all of the group's nodes.
  std::vector<std::size_t> run_groups;
  std::vector<std::size_t> run_lengths;
  for (const std::byte* p : visited) {
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % kNodeBytes, 0U);
    const std::size_t group = offset_in(arena, p) / kGroupBytes;
    if (run_groups.empty() || run_groups.back() != group) {
      run_groups.push_back(group);
      run_lengths.push_back(0);
    }
    ++run_lengths.back();
  }
  if (run_groups.size() > 1 && run_groups.front() == run_groups.back()) {
    run_lengths.front() += run_lengths.back();
    run_groups.pop_back();
    run_lengths.pop_back();
  }
  ASSERT_EQ(run_groups.size(), 11U) << "a group was left before all its nodes were visited";
  EXPECT_EQ(std::set<std::size_t>(run_groups.begin(), run_groups.end()).size(), 11U);
  for (std::size_t i = 0; i < run_groups.size(); ++i) {
    EXPECT_EQ(run_lengths[i], run_groups[i] == 10 ? kGroupNodes / 2 : kGroupNodes) << "group " << run_groups[i];
  }
  // Groups are visited in a shuffled order, not address order.
  std::vector<std::size_t> sorted = run_groups;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(run_groups, sorted);
}

TEST(ChainTest, StrideChainWalksInAddressOrder) {
  constexpr std::size_t kStrideBytes = 256;
  constexpr std::size_t kNodes = 100;
  Arena arena(kNodes * kStrideBytes + 100);  // the tail that holds no whole node is left out
  const Chain chain = build_stride_chain(arena.bytes(), kStrideBytes);
  EXPECT_EQ(chain.length, kNodes);
  EXPECT_EQ(chain.stride_bytes, kStrideBytes);
  const auto visited = walk_chain(chain.head, 2 * kNodes);
  ASSERT_EQ(visited.size(), kNodes);
  for (std::size_t i = 0; i < kNodes; ++i) EXPECT_EQ(offset_in(arena, visited[i]), i * kStrideBytes);
}

TEST(ChainTest, PageChainTouchesOneLinePerPage) {
  constexpr std::size_t kPageBytes = 4 * kKiB;
  constexpr std::size_t kLineBytes = 64;
  constexpr std::size_t kLinesPerPage = kPageBytes / kLineBytes;
  Arena arena(300 * kPageBytes);
  for (std::size_t pages : {1U, 5U, 64U, 200U, 300U}) {
    const Chain chain = build_page_chain(arena.bytes(), kPageBytes, kLineBytes, pages, 11);
    EXPECT_EQ(chain.length, pages);
    EXPECT_EQ(chain.stride_bytes, kPageBytes);
    const auto visited = walk_chain(chain.head, 2 * pages);
    ASSERT_EQ(visited.size(), pages) << pages << " pages: not one cycle";
    std::set<std::size_t> page_set;
    std::set<std::size_t> slots;
    for (const std::byte* p : visited) {
      const std::size_t offset = offset_in(arena, p);
      const std::size_t page = offset / kPageBytes;
      const std::size_t in_page = offset % kPageBytes;
      ASSERT_LT(page, pages);
      ASSERT_EQ(in_page % kLineBytes, 0U);
      EXPECT_EQ(in_page / kLineBytes, page % kLinesPerPage);  // offset rotates with the page index
      page_set.insert(page);
      slots.insert(in_page / kLineBytes);
    }
    EXPECT_EQ(page_set.size(), pages) << "one line per page, every page touched";
    EXPECT_EQ(slots.size(), std::min(pages, kLinesPerPage)) << "offsets cover all residues";
  }
  EXPECT_THROW(build_page_chain(arena.bytes(), kPageBytes, kLineBytes, 301, 1), std::invalid_argument);
}

TEST(ChainTest, PageChainVisitsPagesInRandomOrder) {
  constexpr std::size_t kPageBytes = 4 * kKiB;
  Arena arena(256 * kPageBytes);
  const auto visited = walk_chain(build_page_chain(arena.bytes(), kPageBytes, 64, 256, 3).head, 256);
  std::size_t next_page_steps = 0;
  for (std::size_t i = 0; i + 1 < visited.size(); ++i)
    next_page_steps += (offset_in(arena, visited[i + 1]) / kPageBytes) == (offset_in(arena, visited[i]) / kPageBytes) + 1;
  EXPECT_LT(next_page_steps, 16U);
}

TEST(ChainTest, LineProbeChainIsOneCycleOfTopThenOffsetBelow) {
  constexpr std::size_t kChunkBytes = 768;
  constexpr std::size_t kChunks = 300;
  Arena arena(kChunks * kChunkBytes + 500);  // room for a chunk more than asked for: it stays unused
  for (std::size_t offset_bytes = 8; offset_bytes <= 512; offset_bytes *= 2) {
    const Chain chain = build_line_probe_chain(arena.bytes(), kChunkBytes, offset_bytes, kChunks, 17);
    EXPECT_EQ(chain.length, 2 * kChunks);
    EXPECT_EQ(chain.stride_bytes, kChunkBytes);
    const auto visited = walk_chain(chain.head, 4 * kChunks);
    ASSERT_EQ(visited.size(), 2 * kChunks) << offset_bytes << " B: not back at the head after 2 loads per chunk";
    std::set<std::size_t> chunks;
    for (std::size_t i = 0; i < visited.size(); i += 2) {
      const std::size_t first = offset_in(arena, visited[i]);
      const std::size_t second = offset_in(arena, visited[i + 1]);
      ASSERT_EQ(first % kChunkBytes, kChunkBytes - 8) << "every first node is a chunk's top word";
      ASSERT_EQ(first - second, offset_bytes) << "every second node lies exactly the offset below its first";
      ASSERT_EQ(second / kChunkBytes, first / kChunkBytes) << "the second node stays in its chunk";
      ASSERT_EQ((first + 8) % kLineProbeMaxLineBytes, 0U) << "a top ends a block of the largest probed line";
      ASSERT_LT(first / kChunkBytes, kChunks);
      chunks.insert(first / kChunkBytes);
    }
    EXPECT_EQ(chunks.size(), kChunks) << "one cycle over exactly N chunks";
  }
}

TEST(ChainTest, LineProbeChainVisitsChunksInRandomOrderAndRejectsBadShapes) {
  constexpr std::size_t kChunkBytes = 768;
  Arena arena(512 * kChunkBytes);
  const auto visited = walk_chain(build_line_probe_chain(arena.bytes(), kChunkBytes, 64, 512, 5).head, 1024);
  std::size_t next_chunk_steps = 0;
  for (std::size_t i = 2; i < visited.size(); i += 2)
    next_chunk_steps += offset_in(arena, visited[i]) / kChunkBytes == offset_in(arena, visited[i - 2]) / kChunkBytes + 1;
  EXPECT_LT(next_chunk_steps, 16U);
  EXPECT_THROW(build_line_probe_chain(arena.bytes(), kChunkBytes, kChunkBytes, 4, 1), std::invalid_argument);
  EXPECT_THROW(build_line_probe_chain(arena.bytes(), kChunkBytes, 12, 4, 1), std::invalid_argument);
  EXPECT_THROW(build_line_probe_chain(arena.bytes(), 700, 64, 4, 1), std::invalid_argument);
  EXPECT_THROW(build_line_probe_chain(arena.bytes(), kChunkBytes, 64, 513, 1), std::invalid_argument);
  EXPECT_THROW(build_line_probe_chain(arena.bytes().subspan(8), kChunkBytes, 64, 4, 1), std::invalid_argument);
}

TEST(ChainTest, LargeRandomCycleIsOneCycle) {
  // 256 MiB of 64 B nodes (4 Mi nodes), the size the latency sweep builds.
  // The build time is recorded for the log, not asserted.
  constexpr std::size_t kBytes = 256 * kMiB;
  Arena arena(kBytes);
  const auto start = std::chrono::steady_clock::now();
  const Chain chain = build_random_cycle(arena.bytes(), 64, kDefaultChainSeed);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  RecordProperty("build_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  EXPECT_EQ(chain.length, kBytes / 64);
  EXPECT_EQ(walk_chain(chain.head, chain.length + 1).size(), chain.length);
}

}  // namespace
}  // namespace memprobe::core
