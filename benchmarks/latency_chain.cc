#include "benchmarks/latency_chain.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/chain.h"
#include "core/chase.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;

}  // namespace

std::size_t page_group_pages(const core::Machine& machine) {
  // The innermost data TLB CPUID lists for 4 KiB pages (in any order).
  const core::TlbLevel* innermost = nullptr;
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.page_bytes == 4 * core::kKiB && tlb.kind != "instruction" && tlb.entries &&
        (!innermost || tlb.level < innermost->level))
      innermost = &tlb;
  return innermost ? std::max<std::size_t>(8, *innermost->entries / 2) : 32;
}

std::string latency_tlb_method(std::size_t group_pages) { return fmt::format("page-groups-{}", group_pages); }

PreparedChain prepare_latency_chain(std::span<std::byte> memory, const core::Buffer& buffer, std::size_t line_bytes,
                                    std::size_t group_pages, std::uint64_t seed) {
  PreparedChain p;
  p.backing = &buffer.backing();
  p.chain = core::build_page_group_cycle(memory, line_bytes, core::base_page_bytes(), group_pages, seed);
  p.position = core::memprobe_chase(p.chain.head, std::min(p.chain.length, kMaxWarmupLoads));
  return p;
}

}  // namespace memprobe::bench
