// core/numa: the NUMA plan on hwloc synthetic topologies (which CPUs and
// nodes are chosen, and why a pair is left out), and memory bound to a real
// node with its placement read back.
#include "core/numa.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "tests/emulation.h"

namespace memprobe::core {
namespace {

// 2 sockets x 2 nodes (one per L3), 2 cores per node, 4 GiB each: CPUs 0-7.
constexpr const char* kTwoByTwo = "pack:2 l3:2 [numa(memory=4GiB)] core:2 pu:1";
// 4 nodes, one per socket.
constexpr const char* kFourNodes = "pack:4 [numa(memory=1GiB)] core:2 pu:1";
// One socket, one node.
constexpr const char* kOneNode = "pack:1 [numa(memory=1GiB)] l3:1 core:2 pu:1";

std::vector<std::pair<unsigned, unsigned>> measured_pairs(const NumaPlan& plan) {
  std::vector<std::pair<unsigned, unsigned>> out;
  for (const NumaPair& p : plan.pairs)
    if (p.skip_reason.empty()) out.emplace_back(p.cpu_node, p.mem_node);
  return out;
}

TEST(NumaPlanTest, TwoSocketsTwoNodesEach) {
  const NumaPlan plan = plan_numa_synthetic(kTwoByTwo, {});
  ASSERT_EQ(plan.nodes.size(), 4u);
  for (unsigned n = 0; n < 4; ++n) {
    const NumaNodePlan& node = plan.nodes[n];
    EXPECT_EQ(node.node, n);
    EXPECT_EQ(node.memory_bytes, 4ull << 30);
    // The node's own CPUs run from it: the first for latency, all for bandwidth.
    EXPECT_EQ(node.cpus, (std::vector<int>{static_cast<int>(2 * n), static_cast<int>(2 * n + 1)}));
    EXPECT_EQ(node.latency_cpu, static_cast<int>(2 * n));
    EXPECT_TRUE(node.no_cpu_reason.empty());
    EXPECT_TRUE(node.no_memory_reason.empty());
  }
  // Every (i, j) of the 4x4 matrix, by memory node then CPU node.
  ASSERT_EQ(plan.pairs.size(), 16u);
  EXPECT_EQ(measured_pairs(plan).size(), 16u);
  EXPECT_EQ(plan.pairs[1].cpu_node, 1u);
  EXPECT_EQ(plan.pairs[1].mem_node, 0u);
  EXPECT_TRUE(plan.note.empty()) << plan.note;
}

TEST(NumaPlanTest, CpusOutsideTheAllowedSetLeaveTheirNodesRowsOut) {
  // Only the first socket's CPUs are allowed (taskset 0-3): nodes 2 and 3
  // cannot run the threads, but their memory is still measured from 0 and 1.
  const NumaPlan plan = plan_numa_synthetic(kTwoByTwo, {0, 1, 2, 3});
  ASSERT_EQ(plan.nodes.size(), 4u);
  EXPECT_EQ(plan.nodes[2].latency_cpu, -1);
  EXPECT_TRUE(plan.nodes[2].cpus.empty());
  EXPECT_NE(plan.nodes[2].no_cpu_reason.find("outside the CPUs this process may run on"), std::string::npos)
      << plan.nodes[2].no_cpu_reason;
  EXPECT_NE(plan.nodes[2].no_cpu_reason.find("4-5"), std::string::npos) << plan.nodes[2].no_cpu_reason;
  ASSERT_EQ(plan.pairs.size(), 16u);
  const auto measured = measured_pairs(plan);
  EXPECT_EQ(measured.size(), 8u);  // rows 0 and 1, every column
  for (const auto& [cpu, mem] : measured) EXPECT_LT(cpu, 2u);
  for (const NumaPair& p : plan.pairs) {
    if (p.cpu_node >= 2) {
      EXPECT_EQ(p.skip_reason, plan.nodes[p.cpu_node].no_cpu_reason);
    }
  }
}

TEST(NumaPlanTest, FourNodes) {
  const NumaPlan plan = plan_numa_synthetic(kFourNodes, {});
  ASSERT_EQ(plan.nodes.size(), 4u);
  EXPECT_EQ(plan.nodes[3].cpus, (std::vector<int>{6, 7}));
  EXPECT_EQ(measured_pairs(plan).size(), 16u);
  // A node list narrows the matrix to those nodes.
  const NumaPlan two = plan_numa_synthetic(kFourNodes, {}, {1, 3});
  ASSERT_EQ(two.nodes.size(), 2u);
  EXPECT_EQ(measured_pairs(two), (std::vector<std::pair<unsigned, unsigned>>{{1, 1}, {3, 1}, {1, 3}, {3, 3}}));
}

TEST(NumaPlanTest, ANodeWithoutMemoryIsNoColumn) {
  const NumaPlan plan = plan_numa_synthetic("pack:2 [numa(memory=1GiB)] [numa(memory=0)] core:2 pu:1", {});
  ASSERT_EQ(plan.nodes.size(), 4u);
  std::size_t skipped = 0;
  for (const NumaPair& p : plan.pairs) {
    const bool no_memory = plan.find(p.mem_node)->memory_bytes == 0;
    EXPECT_EQ(!p.skip_reason.empty(), no_memory) << p.cpu_node << "," << p.mem_node;
    if (no_memory) {
      EXPECT_NE(p.skip_reason.find("has no memory"), std::string::npos) << p.skip_reason;
      ++skipped;
    }
  }
  EXPECT_EQ(skipped, 8u);
}

TEST(NumaPlanTest, OneNodeIsA1x1MatrixAndSaysSo) {
  const NumaPlan plan = plan_numa_synthetic(kOneNode, {});
  ASSERT_EQ(plan.nodes.size(), 1u);
  EXPECT_EQ(plan.nodes[0].cpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.nodes[0].latency_cpu, 0);
  ASSERT_EQ(plan.pairs.size(), 1u);
  EXPECT_EQ(plan.pairs[0].cpu_node, 0u);
  EXPECT_EQ(plan.pairs[0].mem_node, 0u);
  EXPECT_TRUE(plan.pairs[0].skip_reason.empty());
  EXPECT_EQ(plan.note, "one NUMA node: hwloc reports 1 node with memory; the matrix is 1x1");
  // Restricted to CPU 1, that CPU runs both the chase and the bandwidth thread.
  const NumaPlan one_cpu = plan_numa_synthetic(kOneNode, {1});
  EXPECT_EQ(one_cpu.nodes[0].cpus, (std::vector<int>{1}));
  EXPECT_EQ(one_cpu.nodes[0].latency_cpu, 1);
}

TEST(NumaPlanTest, ALargeMachineIsBounded) {
  const NumaPlan plan = plan_numa_synthetic("pack:16 [numa(memory=1GiB)] core:1 pu:1", {});
  EXPECT_EQ(plan.nodes.size(), kMaxPlannedNodes);
  EXPECT_EQ(plan.pairs.size(), kMaxPlannedNodes * kMaxPlannedNodes);
  EXPECT_NE(plan.note.find("16 NUMA nodes"), std::string::npos) << plan.note;
}

TEST(NumaPlanTest, ThisMachineHasAPlanWithAMeasuredPair) {
  const NumaPlan plan = plan_numa_here();
  ASSERT_FALSE(plan.nodes.empty());
  EXPECT_FALSE(measured_pairs(plan).empty());
  EXPECT_EQ(check_numa_nodes({plan.nodes.front().node}), "");
  const std::string wrong = check_numa_nodes({plan.nodes.front().node, 4096});
  EXPECT_NE(wrong.find("no NUMA node 4096"), std::string::npos) << wrong;
}

TEST(NodeBufferTest, PagesBoundToTheFirstNodeAreThereAfterTheFirstTouch) {
  const NumaPlan plan = plan_numa_here();
  const NumaNodePlan* node = nullptr;
  for (const NumaNodePlan& n : plan.nodes)
    if (n.memory_bytes > 0) node = &n;
  if (node == nullptr) GTEST_SKIP() << "hwloc reports no node with memory";
  auto buffer = NodeBuffer::allocate(16 * base_page_bytes(), node->node);
  // qemu-user does not implement mbind: a kernel feature it does not pass through.
  if (const auto emulated = ::memprobe::testing::emulation_reason(); !buffer && emulated)
    GTEST_SKIP() << *emulated << ": " << buffer.error().reason;
  ASSERT_TRUE(buffer) << buffer.error().reason;
  auto placed = page_placement(buffer->data(), buffer->size_bytes());
  if (!placed && placed.error().reason.find("Function not implemented") != std::string::npos)
    GTEST_SKIP() << placed.error().reason;  // e.g. under qemu-user
  ASSERT_TRUE(placed) << placed.error().reason;
  EXPECT_EQ(placed->pages, 16u);
  EXPECT_EQ(placed->on(static_cast<int>(node->node)), 16u) << placed->describe(static_cast<int>(node->node));
  EXPECT_EQ(placed->describe(static_cast<int>(node->node)), fmt::format("16/16 pages on node {}", node->node));
}

TEST(NodeBufferTest, PlacementOfAnUntouchedPageSaysItIsNotPlaced) {
  const std::size_t page = base_page_bytes();
  auto buffer = Buffer::allocate(page, PagePolicy::k4K);  // touched: placed
  ASSERT_TRUE(buffer) << buffer.error().reason;
  auto placed = page_placement(buffer->data(), page);
  if (!placed) GTEST_SKIP() << placed.error().reason;
  EXPECT_EQ(placed->pages, 1u);
  EXPECT_EQ(placed->pages_per_node.size(), 1u);
  EXPECT_GE(placed->pages_per_node.begin()->first, 0);  // a node, not an error
  // A node no page is on: the description names where they are.
  const std::string elsewhere = placed->describe(4096);
  EXPECT_NE(elsewhere.find("0/1 pages on node 4096"), std::string::npos) << elsewhere;
}

}  // namespace
}  // namespace memprobe::core
