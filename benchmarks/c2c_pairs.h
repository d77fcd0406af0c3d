// Which ordered CPU pairs the c2c family measures: every pair (a, b), a != b,
// of the CPUs this process may use, or, past a budget, a bounded
// deterministic sample per sharing group (benchmarks/c2c.cc). Pure: tests
// feed CPU lists and synthetic topologies.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/topology.h"

namespace memprobe::bench {

// Ordered pairs measured in full; past it, each sharing group but the
// same-core one is sampled down to this many pairs.
inline constexpr std::size_t kC2cPairBudget = 64;

struct C2cPair {
  int a = -1;  // the CPU that writes first (row of the matrix)
  int b = -1;  // the CPU that answers (column)
  std::optional<core::PairClass> shares;  // nullopt: hwloc does not know one of them
  std::size_t group_pairs = 0;  // ordered pairs of this pair's group among the CPUs (measured or not)
};

struct C2cPlan {
  std::vector<C2cPair> pairs;   // ascending (a, b)
  std::size_t total_pairs = 0;  // n (n - 1) for n CPUs
  // Empty when every pair is measured; else what was sampled, one line:
  // "sampled 256 of 16256 ordered pairs: all 128 same core (SMT), 64 of 1792 same L3, ...".
  std::string sampling;
};

// "smt", "l3", ... of a pair, "unknown" without a class (a case label token).
std::string c2c_sharing_key(const C2cPair& pair);

// Every ordered pair of `cpus` (distinct, any order) when there are at most
// `budget`; otherwise every same-core (SMT) pair (at most one per CPU per
// sibling) plus, of each other group (same L3, other L3, same socket, other
// socket, unknown), `budget` pairs evenly spaced in (a, b) order, so the
// result never exceeds the SMT pairs + 5 x budget, and the same CPUs give
// the same sample on every run.
C2cPlan plan_c2c_pairs(const std::vector<int>& cpus, const core::Topology& topology,
                       std::size_t budget = kC2cPairBudget);

}  // namespace memprobe::bench
