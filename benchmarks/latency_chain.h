// The latency family's access pattern, shared with the drift family that
// re-measures its level figures: random within groups of base-page-sized
// regions that fit the L1 DTLB, groups in random order, the same for every
// page policy (docs/methodology.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "benchmarks/timed_chase.h"
#include "core/buffer.h"
#include "core/machine.h"

namespace memprobe::bench {

// Pages per TLB-locality group: half the L1 DTLB's 4 KiB entries (at least
// 8), leaving the other half for the stack, code and the harness, so a group
// visit misses the L1 DTLB at most once per page; 32 when CPUID gives no L1
// DTLB.
std::size_t page_group_pages(const core::Machine& machine);

// "page-groups-<group_pages>": the chain's tlb_method label.
std::string latency_tlb_method(std::size_t group_pages);

// The chain over `memory` (inside `buffer`), built and warmed up: a full lap
// brings a cache-sized set in; past 2^20 loads a DRAM-sized set is as warm
// as it gets.
PreparedChain prepare_latency_chain(std::span<std::byte> memory, const core::Buffer& buffer, std::size_t line_bytes,
                                    std::size_t group_pages, std::uint64_t seed);

}  // namespace memprobe::bench
