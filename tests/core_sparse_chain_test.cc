// build_sparse_random_cycle: one cycle over exactly `nodes` nodes, one in
// each equal slot of the memory, so a chase over it spreads over the whole set.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <set>
#include <vector>

#include "core/chain.h"
#include "core/units.h"

namespace memprobe::core {
namespace {

struct AlignedBytes {
  explicit AlignedBytes(std::size_t n) : size(n), data(static_cast<std::byte*>(::operator new(n, std::align_val_t{4096}))) {}
  ~AlignedBytes() { ::operator delete(data, std::align_val_t{4096}); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  std::size_t size;
  std::byte* data;
};

TEST(SparseChainTest, OneCycleOverExactlyTheNodesOneInEachSlot) {
  AlignedBytes memory(4 * kMiB);
  for (std::size_t nodes : {std::size_t{1}, std::size_t{7}, std::size_t{1024}, std::size_t{4000}}) {
    const Chain chain = build_sparse_random_cycle({memory.data, memory.size}, 64, nodes, 5);
    ASSERT_EQ(chain.length, nodes);
    const std::vector<const std::byte*> visited = walk_chain(chain.head, nodes + 1);
    ASSERT_EQ(visited.size(), nodes) << "one cycle back to the head after exactly `nodes` steps";
    const std::size_t slot_bytes = memory.size / 64 / nodes * 64;
    std::set<std::size_t> slots;
    for (const std::byte* p : visited) {
      const auto offset = static_cast<std::size_t>(p - memory.data);
      EXPECT_EQ(offset % 64, 0u) << "nodes are whole lines";
      slots.insert(offset / slot_bytes);
    }
    EXPECT_EQ(slots.size(), nodes) << "each slot holds one node";
    EXPECT_LT(*slots.rbegin(), nodes);
  }
}

TEST(SparseChainTest, AsManyNodesAsLinesIsEveryLine) {
  AlignedBytes memory(256 * kKiB);
  const std::size_t lines = memory.size / 64;
  const Chain chain = build_sparse_random_cycle({memory.data, memory.size}, 64, lines * 2, 9);
  EXPECT_EQ(chain.length, lines) << "capped at the lines there are";
  const std::vector<const std::byte*> visited = walk_chain(chain.head, lines + 1);
  EXPECT_EQ(std::set<const std::byte*>(visited.begin(), visited.end()).size(), lines);
}

TEST(SparseChainTest, SameSeedSameChain) {
  AlignedBytes a(1 * kMiB), b(1 * kMiB);
  const Chain ca = build_sparse_random_cycle({a.data, a.size}, 64, 100, 3);
  const Chain cb = build_sparse_random_cycle({b.data, b.size}, 64, 100, 3);
  const auto va = walk_chain(ca.head, 101), vb = walk_chain(cb.head, 101);
  ASSERT_EQ(va.size(), vb.size());
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_EQ(va[i] - a.data, vb[i] - b.data);
}

}  // namespace
}  // namespace memprobe::core
