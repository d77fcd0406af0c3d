#include "benchmarks/working_set.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>

#include "core/units.h"

namespace memprobe::bench {

std::uint64_t default_max_working_set_bytes(std::uint64_t llc_bytes, bool quick) {
  // The curve must end well inside DRAM: 8x the LLC (4x when quick).
  return std::max<std::uint64_t>(llc_bytes ? llc_bytes * (quick ? 4 : 8) : 256 * core::kMiB, 64 * core::kMiB);
}

std::uint64_t capped_working_set(std::uint64_t default_bytes, const CaseOptions& options) {
  return options.max_working_set_bytes > 0 ? std::min(default_bytes, options.max_working_set_bytes) : default_bytes;
}

std::uint64_t round_down_within_cap(std::uint64_t bytes, std::uint64_t granule_bytes) {
  return granule_bytes > 0 && bytes >= granule_bytes ? bytes / granule_bytes * granule_bytes : bytes;
}

std::string cap_skip_reason(const std::string& what, std::uint64_t needed_bytes, const CaseOptions& options) {
  return fmt::format("skipped: {} needs a working set of at least {}; --max-working-set is {}", what,
                     core::format_bytes(needed_bytes), core::format_bytes(options.max_working_set_bytes));
}

DramChaseWorkingSet dram_chase_working_set(std::uint64_t llc_bytes, const CaseOptions& options,
                                           const std::string& what) {
  constexpr std::uint64_t kPage = 2 * core::kMiB;
  const std::uint64_t wanted = std::max<std::uint64_t>(llc_bytes ? 8 * llc_bytes : 256 * core::kMiB, 64 * core::kMiB);
  DramChaseWorkingSet ws;
  ws.bytes = round_down_within_cap(capped_working_set((wanted + kPage - 1) / kPage * kPage, options), kPage);
  if (llc_bytes > 0 && ws.bytes < 2 * llc_bytes) ws.skip_reason = cap_skip_reason(what, 2 * llc_bytes, options);
  return ws;
}

std::vector<std::uint64_t> sizing_cache_bytes(const core::Machine& machine, const CaseOptions& options) {
  std::vector<std::uint64_t> sizes;
  const auto& reported = machine.topology.data_caches();
  const std::size_t levels = std::max(reported.size(), options.measured.cache_bytes.size());
  for (std::size_t i = 0; i < levels; ++i) {
    if (i < options.measured.cache_bytes.size() && options.measured.cache_bytes[i] > 0)
      sizes.push_back(options.measured.cache_bytes[i]);
    else if (i < reported.size())
      sizes.push_back(reported[i].size_bytes);
  }
  return sizes;
}

std::uint64_t sizing_llc_bytes(const core::Machine& machine, const CaseOptions& options) {
  const std::vector<std::uint64_t> sizes = sizing_cache_bytes(machine, options);
  return sizes.empty() ? 0 : sizes.back();
}

std::string sizing_source(const CaseOptions& options) {
  return options.measured.cache_bytes.empty() ? "reported" : "measured";
}

}  // namespace memprobe::bench
