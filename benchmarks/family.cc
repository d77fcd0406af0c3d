#include "benchmarks/family.h"

#include <algorithm>

namespace memprobe::bench {
namespace {

// Function-local so registration from other translation units' static
// initialisers never runs before the vector exists.
std::vector<Family>& registry() {
  static std::vector<Family> families;
  return families;
}

}  // namespace

benchmark::internal::Benchmark* apply_case_options(benchmark::internal::Benchmark* b,
                                                   const CaseOptions& options) {
  if (options.repetitions > 0) b->Repetitions(options.repetitions);
  if (options.min_time_s > 0) b->MinTime(options.min_time_s);
  return b;
}

bool add_family(const Family& family) {
  registry().push_back(family);
  return true;
}

std::vector<Family> families() {
  std::vector<Family> sorted = registry();
  std::sort(sorted.begin(), sorted.end(),
            [](const Family& a, const Family& b) { return a.name < b.name; });
  return sorted;
}

const Family* find_family(std::string_view name) {
  for (const Family& f : registry())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace memprobe::bench
