// What the tlb and pagewalk families compare their page-spread chases with:
// the same number of lines packed densely in random order on a verified THP
// region (no TLB misses at these footprints), or, without THP, a page-group
// chain on 4 KiB pages. Same data footprint, same cache level, no walks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/buffer.h"
#include "core/chain.h"
#include "core/result.h"

namespace memprobe::bench {

// Two laps untimed: the lines come into the caches and the TLB into its
// steady state (every entry replaced, or every entry resident); capped at 2^20 loads.
void* warm_up_chain(const core::Chain& chain);

class ReferenceArena {
 public:
  struct Prepared {
    core::Chain chain;
    void* position = nullptr;
    const core::Backing* backing = nullptr;
    std::string tlb_method;  // "huge-pages" or "page-groups-N"
  };

  // The reference chain over `lines` lines in a buffer of at least max_bytes
  // (kept and reused; rebuilt when `lines` changes).
  core::Result<Prepared*> prepare(std::size_t max_bytes, std::size_t lines, std::size_t line_bytes,
                                  std::size_t group_pages, std::uint64_t seed);

 private:
  std::optional<core::Buffer> buffer_;
  std::optional<Prepared> prepared_;
};

}  // namespace memprobe::bench
