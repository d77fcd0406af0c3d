// One long-lived page-policy buffer shared by the families that chase over
// memory (latency, hugepage): allocating and first-touching up to 16x the LLC
// for every point would cost more than measuring it, and on a VM a first
// touch also faults in the host. Process-wide so that at most one such buffer
// (and its hugetlb pool pages) is held at a time: a family that needs the
// memory itself (pagefault) calls release_arena() first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "benchmarks/timed_chase.h"
#include "core/buffer.h"
#include "core/result.h"

namespace memprobe::bench {

struct ArenaLease {
  core::Buffer* buffer = nullptr;
  // Changes whenever the buffer's contents may have been rewritten by someone
  // else since this user last held it (a new buffer, or another user in
  // between): a chain built in it under an older epoch must be rebuilt.
  std::uint64_t epoch = 0;
};

// A buffer of `policy` of at least min_bytes for `user` (a family name).
// Reuses the current buffer when it has the policy and is large enough;
// otherwise releases it and allocates preferred_bytes (>= min_bytes), falling
// back to min_bytes when that fails (e.g. a hugetlb pool too short for the
// largest working set). Unavailable with Buffer::allocate's reason otherwise.
core::Result<ArenaLease> acquire_arena(std::string_view user, core::PagePolicy policy,
                                       std::size_t min_bytes, std::size_t preferred_bytes);

// The arena on transparent huge pages when the kernel backs it fully, else
// on 4 KiB pages (then a chase also misses the TLB: `page` says which, "thp"
// or "4k"), for a family that chooses its own pages.
struct PagedLease {
  ArenaLease lease;
  std::string page;
};
core::Result<PagedLease> acquire_thp_else_4k_arena(std::string_view user, std::size_t bytes);

// The DRAM chase of the families that pick their own pages (mlp, loaded): a
// random cycle of line_bytes nodes over the first `bytes` of the arena (THP
// else 4 KiB), valid while the arena's epoch is unchanged.
struct DramChain : PreparedChain {
  std::string page;         // "thp" or "4k"
  std::uint64_t epoch = 0;  // 0: not built yet
};
// Leases the arena for `user` and rebuilds `chain` when the arena changed
// since it was built; true when it was (re)built (position not warmed up).
core::Result<bool> prepare_dram_chain(std::string_view user, std::size_t bytes, std::size_t line_bytes,
                                      std::uint64_t seed, DramChain& chain);

// A buffer of its own on verified transparent huge pages, else on 4 KiB pages.
core::Result<core::Buffer> allocate_thp_else_4k(std::size_t bytes);

// The size of the current buffer if it has `policy`, else 0: what
// acquire_arena would reuse rather than allocate and first-touch.
std::size_t arena_bytes_held(core::PagePolicy policy);

// Frees the buffer (munmap; hugetlb pages return to the pool).
void release_arena();

}  // namespace memprobe::bench
