#include "benchmarks/tlb_reference.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/chase.h"
#include "core/units.h"

namespace memprobe::bench {

void* warm_up_chain(const core::Chain& chain) {
  return core::memprobe_chase(chain.head, std::min<std::size_t>(2 * chain.length, std::size_t{1} << 20));
}

core::Result<ReferenceArena::Prepared*> ReferenceArena::prepare(std::size_t max_bytes, std::size_t lines,
                                                                std::size_t line_bytes, std::size_t group_pages,
                                                                std::uint64_t seed) {
  if (!buffer_ || buffer_->size_bytes() < max_bytes) {
    buffer_.reset();
    prepared_.reset();
    auto thp = core::Buffer::allocate(max_bytes, core::PagePolicy::kThp);
    if (thp && thp->backing().matches_request()) {
      buffer_.emplace(std::move(*thp));
    } else {
      auto small = core::Buffer::allocate(max_bytes, core::PagePolicy::k4K);
      if (!small) return small.error();
      buffer_.emplace(std::move(*small));
    }
  }
  if (prepared_ && prepared_->chain.length == lines) return &*prepared_;
  const auto memory = buffer_->bytes().first(lines * line_bytes);
  Prepared p;
  p.backing = &buffer_->backing();
  if (buffer_->policy() == core::PagePolicy::kThp) {
    p.chain = core::build_random_cycle(memory, line_bytes, seed);
    p.tlb_method = "huge-pages";
  } else {
    p.chain = core::build_page_group_cycle(memory, line_bytes, 4 * core::kKiB, group_pages, seed);
    p.tlb_method = fmt::format("page-groups-{}", group_pages);
  }
  p.position = warm_up_chain(p.chain);
  prepared_ = p;
  return &*prepared_;
}

}  // namespace memprobe::bench
