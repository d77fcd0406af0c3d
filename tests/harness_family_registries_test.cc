// A family lives in two registries: benchmarks/ (bench::Family, what `memprobe
// run` can measure) and analysis/ (analysis::FamilyDescriptor, what its cases
// mean). Each must know the other's families, or a family's cases would run
// and never be derived, or a descriptor would wait for cases nothing makes.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "analysis/family.h"
#include "benchmarks/family.h"

namespace memprobe {
namespace {

std::set<std::string> benchmark_family_names() {
  std::set<std::string> names;
  for (const auto& family : bench::families()) names.emplace(family.name);
  return names;
}

std::set<std::string> analysis_family_names() {
  std::set<std::string> names;
  for (const analysis::FamilyDescriptor* family : analysis::families_in_run_order()) names.insert(family->name);
  return names;
}

TEST(FamilyRegistriesTest, EveryBenchmarkFamilyHasADescriptorAndEveryDescriptorABenchmarkFamily) {
  const std::set<std::string> measured = benchmark_family_names();
  const std::set<std::string> described = analysis_family_names();
  ASSERT_FALSE(measured.empty());
  for (const std::string& name : measured)
    EXPECT_TRUE(described.count(name)) << name << " is measured (MEMPROBE_FAMILY) but has no analysis descriptor";
  for (const std::string& name : described)
    EXPECT_TRUE(measured.count(name)) << name << " has a descriptor but no benchmark family registers its cases";
}

// `memprobe run` runs families in the descriptors' run order; the sweep and
// sizing hooks it calls by family name must belong to families it can run.
TEST(FamilyRegistriesTest, HarnessHooksBelongToMeasuredFamilies) {
  const std::set<std::string> measured = benchmark_family_names();
  std::size_t sweeping = 0;
  for (const analysis::FamilyDescriptor* family : analysis::families_in_run_order()) {
    if (!family->sweep_complete && !family->sizing_figures) continue;
    EXPECT_TRUE(measured.count(family->name)) << family->name;
    sweeping += family->sweep_complete ? 1 : 0;
  }
  // The latency sweep grows until DRAM, the tlb sweep until its L2 DTLB knee
  // is read: both through the hook.
  EXPECT_TRUE(analysis::find_family("latency")->sweep_complete);
  EXPECT_TRUE(analysis::find_family("tlb")->sweep_complete);
  EXPECT_GE(sweeping, 2u);
}

}  // namespace
}  // namespace memprobe
