// Which CPU pairs the c2c family measures (benchmarks/c2c_pairs.h): every
// ordered pair within the budget, a bounded deterministic sample past it,
// never a CPU paired with itself; on synthetic machines up to 128 CPUs.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "benchmarks/c2c_pairs.h"
#include "core/topology.h"

namespace memprobe::bench {
namespace {

std::vector<int> first_cpus(int n) {
  std::vector<int> cpus(static_cast<std::size_t>(n));
  std::iota(cpus.begin(), cpus.end(), 0);
  return cpus;
}

void expect_valid(const C2cPlan& plan, const std::vector<int>& cpus) {
  const std::set<int> allowed(cpus.begin(), cpus.end());
  std::set<std::pair<int, int>> seen;
  for (const C2cPair& p : plan.pairs) {
    EXPECT_NE(p.a, p.b);
    EXPECT_TRUE(allowed.count(p.a) && allowed.count(p.b)) << p.a << "," << p.b;
    EXPECT_TRUE(seen.insert({p.a, p.b}).second) << "pair twice: " << p.a << "," << p.b;
    EXPECT_GE(p.group_pairs, 1u);
  }
}

TEST(C2cPairsTest, TwoCpusGiveBothOrderedPairs) {
  const core::Topology t = core::Topology::from_synthetic("pack:1 l3:1 core:2 pu:1");
  const C2cPlan plan = plan_c2c_pairs({0, 1}, t);
  ASSERT_EQ(plan.pairs.size(), 2u);
  EXPECT_EQ(plan.total_pairs, 2u);
  EXPECT_TRUE(plan.sampling.empty());
  EXPECT_EQ(plan.pairs[0].a, 0);
  EXPECT_EQ(plan.pairs[0].b, 1);
  EXPECT_EQ(plan.pairs[1].a, 1);
  EXPECT_EQ(plan.pairs[1].b, 0);
  EXPECT_EQ(c2c_sharing_key(plan.pairs[0]), "l3");
}

TEST(C2cPairsTest, OneCpuGivesNoPair) {
  const core::Topology t = core::Topology::from_synthetic("pack:1 l3:1 core:2 pu:1");
  const C2cPlan plan = plan_c2c_pairs({1}, t);
  EXPECT_TRUE(plan.pairs.empty());
  EXPECT_EQ(plan.total_pairs, 0u);
}

TEST(C2cPairsTest, WithinTheBudgetEveryOrderedPair) {
  // 8 CPUs: 56 ordered pairs <= 64, all measured, duplicates in the list ignored.
  const core::Topology t = core::Topology::from_synthetic("pack:2 l3:1 core:2 pu:2");
  std::vector<int> cpus = first_cpus(8);
  cpus.push_back(3);
  const C2cPlan plan = plan_c2c_pairs(cpus, t);
  EXPECT_EQ(plan.pairs.size(), 56u);
  EXPECT_EQ(plan.total_pairs, 56u);
  EXPECT_TRUE(plan.sampling.empty());
  expect_valid(plan, cpus);
}

TEST(C2cPairsTest, A128CpuMachineIsSampledBoundedAndDeterministic) {
  // 2 sockets x 4 L3 x 8 cores x 2 threads = 128 CPUs, 16256 ordered pairs.
  const core::Topology t = core::Topology::from_synthetic("pack:2 l3:4 core:8 pu:2");
  const std::vector<int> cpus = first_cpus(128);
  const C2cPlan plan = plan_c2c_pairs(cpus, t);
  EXPECT_EQ(plan.total_pairs, 128u * 127u);
  expect_valid(plan, cpus);
  std::map<std::string, std::size_t> per_group;
  for (const C2cPair& p : plan.pairs) ++per_group[c2c_sharing_key(p)];
  // Every SMT pair (64 cores x 2 orders), kC2cPairBudget of each other group.
  EXPECT_EQ(per_group["smt"], 128u);
  EXPECT_EQ(per_group["l3"], kC2cPairBudget);
  EXPECT_EQ(per_group["other_l3"], kC2cPairBudget);
  EXPECT_EQ(per_group["other_socket"], kC2cPairBudget);
  EXPECT_EQ(plan.pairs.size(), 128u + 3 * kC2cPairBudget);
  EXPECT_NE(plan.sampling.find("sampled 320 of 16256 ordered pairs"), std::string::npos) << plan.sampling;
  EXPECT_NE(plan.sampling.find("all 128 same core (SMT)"), std::string::npos) << plan.sampling;
  EXPECT_NE(plan.sampling.find("64 of 8192 other socket"), std::string::npos) << plan.sampling;
  // The same CPUs give the same sample.
  const C2cPlan again = plan_c2c_pairs(cpus, t);
  ASSERT_EQ(again.pairs.size(), plan.pairs.size());
  for (std::size_t i = 0; i < plan.pairs.size(); ++i) {
    EXPECT_EQ(again.pairs[i].a, plan.pairs[i].a);
    EXPECT_EQ(again.pairs[i].b, plan.pairs[i].b);
  }
}

TEST(C2cPairsTest, SampleIsBoundedForAnyBudget) {
  const core::Topology t = core::Topology::from_synthetic("pack:2 l3:2 core:4 pu:2");
  const std::vector<int> cpus = first_cpus(32);
  for (const std::size_t budget : {1u, 4u, 16u, 100u}) {
    const C2cPlan plan = plan_c2c_pairs(cpus, t, budget);
    expect_valid(plan, cpus);
    // SMT pairs (32) + at most `budget` per other group (3 groups).
    EXPECT_LE(plan.pairs.size(), 32u + 3 * budget) << budget;
    EXPECT_FALSE(plan.sampling.empty()) << budget;
  }
}

TEST(C2cPairsTest, AMaskedSubsetOnlyPairsItsCpus) {
  const core::Topology t = core::Topology::from_synthetic("pack:2 l3:2 core:2 pu:2");
  const std::vector<int> cpus = {2, 5, 11};
  const C2cPlan plan = plan_c2c_pairs(cpus, t);
  EXPECT_EQ(plan.pairs.size(), 6u);
  expect_valid(plan, cpus);
}

}  // namespace
}  // namespace memprobe::bench
