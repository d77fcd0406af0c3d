// Pair classification (core/topology.h: classify_pair) on hwloc synthetic
// topologies: the multi-socket, multi-L3 and SMT shapes this test machine
// lacks. Synthetic PUs are numbered in order, so CPU n's place is known.
#include <gtest/gtest.h>

#include <string>

#include "core/topology.h"

namespace memprobe::core {
namespace {

PairSharing sharing_of(const Topology& t, int a, int b) {
  const auto c = t.classify(a, b);
  EXPECT_TRUE(c.has_value()) << a << "," << b;
  return c ? c->sharing : PairSharing::kOtherSocket;
}

TEST(CpuPairTest, TwoSocketsTwoL3sSmt) {
  // 2 packages x 2 L3 x 2 cores x 2 PUs: CPUs 0-7 on package 0 (L3s 0-3,
  // 4-7), 8-15 on package 1.
  const Topology t = Topology::from_synthetic("pack:2 l3:2 core:2 pu:2");
  ASSERT_EQ(t.cpu_places().size(), 16u);
  EXPECT_EQ(sharing_of(t, 0, 1), PairSharing::kSameCore);
  EXPECT_EQ(sharing_of(t, 1, 0), PairSharing::kSameCore);
  EXPECT_EQ(sharing_of(t, 0, 2), PairSharing::kSameL3);
  EXPECT_EQ(sharing_of(t, 3, 1), PairSharing::kSameL3);
  EXPECT_EQ(sharing_of(t, 0, 4), PairSharing::kOtherL3);
  EXPECT_EQ(sharing_of(t, 7, 0), PairSharing::kOtherL3);
  EXPECT_EQ(sharing_of(t, 0, 8), PairSharing::kOtherSocket);
  EXPECT_EQ(sharing_of(t, 15, 0), PairSharing::kOtherSocket);
  EXPECT_EQ(sharing_of(t, 9, 8), PairSharing::kSameCore);
  EXPECT_EQ(sharing_of(t, 8, 12), PairSharing::kOtherL3);
}

TEST(CpuPairTest, ClassificationIsSymmetricOnEveryPair) {
  const Topology t = Topology::from_synthetic("pack:2 l3:2 core:2 pu:2");
  for (const CpuPlace& a : t.cpu_places())
    for (const CpuPlace& b : t.cpu_places())
      EXPECT_EQ(classify_pair(a, b).sharing, classify_pair(b, a).sharing) << a.cpu << "," << b.cpu;
}

TEST(CpuPairTest, NumaNodesPerPackage) {
  // One NUMA node per package: same node within a package, other across.
  const Topology t = Topology::from_synthetic("pack:2 [numa] l3:1 core:2 pu:1");
  ASSERT_EQ(t.cpu_places().size(), 4u);
  EXPECT_EQ(t.numa_nodes(), 2u);
  EXPECT_TRUE(t.classify(0, 1)->same_numa);
  EXPECT_EQ(t.classify(0, 1)->sharing, PairSharing::kSameL3);
  EXPECT_FALSE(t.classify(1, 2)->same_numa);
  EXPECT_EQ(t.classify(1, 2)->sharing, PairSharing::kOtherSocket);
}

TEST(CpuPairTest, NoL3IsSameSocketNotOtherL3) {
  // No L3 object at all (some Arm parts): two cores of one package share
  // "the socket", never a made-up L3.
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1");
  EXPECT_EQ(sharing_of(t, 0, 1), PairSharing::kSameSocket);
}

TEST(CpuPairTest, OneSocketNoSmt) {
  // Like this project's guests: 1 package, 1 L3, 2 single-thread cores.
  const Topology t = Topology::from_synthetic("pack:1 l3:1 core:2 pu:1");
  EXPECT_EQ(sharing_of(t, 0, 1), PairSharing::kSameL3);
  EXPECT_EQ(sharing_of(t, 1, 0), PairSharing::kSameL3);
}

TEST(CpuPairTest, UnknownCpuHasNoClass) {
  const Topology t = Topology::from_synthetic("pack:1 core:2 pu:1");
  EXPECT_FALSE(t.classify(0, 99).has_value());
  EXPECT_FALSE(t.place_of(-1).has_value());
}

TEST(CpuPairTest, NamesAndKeys) {
  EXPECT_STREQ(pair_sharing_name(PairSharing::kSameCore), "same core (SMT)");
  EXPECT_STREQ(pair_sharing_name(PairSharing::kOtherSocket), "other socket");
  for (const PairSharing s : {PairSharing::kSameCore, PairSharing::kSameL3, PairSharing::kOtherL3,
                              PairSharing::kSameSocket, PairSharing::kOtherSocket})
    EXPECT_EQ(std::string(pair_sharing_key(s)).find(' '), std::string::npos);
}

TEST(CpuPairTest, ThisMachineEveryCpuHasAPlace) {
  const Topology t = Topology::load();
  EXPECT_EQ(t.cpu_places().size(), t.logical_cpus());
  for (const int cpu : inherited_cpus()) EXPECT_TRUE(t.place_of(cpu).has_value()) << cpu;
}

}  // namespace
}  // namespace memprobe::core
