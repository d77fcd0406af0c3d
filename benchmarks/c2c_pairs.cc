#include "benchmarks/c2c_pairs.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace memprobe::bench {

std::string c2c_sharing_key(const C2cPair& pair) {
  return pair.shares ? core::pair_sharing_key(pair.shares->sharing) : "unknown";
}

namespace {

// Group order: closest first, unknown last.
int group_rank(const C2cPair& pair) { return pair.shares ? static_cast<int>(pair.shares->sharing) : 99; }

std::string group_name(const C2cPair& pair) {
  return pair.shares ? core::pair_sharing_name(pair.shares->sharing) : "unknown";
}

}  // namespace

C2cPlan plan_c2c_pairs(const std::vector<int>& cpus_in, const core::Topology& topology, std::size_t budget) {
  std::vector<int> cpus = cpus_in;
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());

  std::map<int, std::vector<C2cPair>> groups;  // by group_rank, each in (a, b) order
  for (const int a : cpus)
    for (const int b : cpus)
      if (a != b) {
        C2cPair pair{a, b, topology.classify(a, b), 0};
        groups[group_rank(pair)].push_back(pair);
      }
  C2cPlan plan;
  for (auto& [rank, pairs] : groups) {
    plan.total_pairs += pairs.size();
    for (C2cPair& p : pairs) p.group_pairs = pairs.size();
  }
  const bool sample = plan.total_pairs > budget;
  std::string parts;
  for (const auto& [rank, pairs] : groups) {
    const bool all = !sample || rank == static_cast<int>(core::PairSharing::kSameCore) || pairs.size() <= budget;
    const std::size_t keep = all ? pairs.size() : budget;
    // Evenly spaced: the i-th of `keep` is pair floor(i * size / keep).
    for (std::size_t i = 0; i < keep; ++i) plan.pairs.push_back(pairs[i * pairs.size() / keep]);
    if (sample)
      parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ",
                           all ? fmt::format("all {}", pairs.size()) : fmt::format("{} of {}", keep, pairs.size()),
                           group_name(pairs.front()));
  }
  std::sort(plan.pairs.begin(), plan.pairs.end(),
            [](const C2cPair& x, const C2cPair& y) { return std::pair(x.a, x.b) < std::pair(y.a, y.b); });
  if (sample)
    plan.sampling = fmt::format("sampled {} of {} ordered pairs (more than {}): {}; evenly spaced, the same on every run",
                                plan.pairs.size(), plan.total_pairs, budget, parts);
  return plan;
}

}  // namespace memprobe::bench
