#include "benchmarks/tlb_reference.h"

#include <fmt/format.h>

#include <algorithm>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "core/buffer.h"
#include "core/chase.h"
#include "core/units.h"

namespace memprobe::bench {

void* warm_up_chain(const core::Chain& chain) {
  return core::memprobe_chase(chain.head, std::min<std::size_t>(2 * chain.length, std::size_t{1} << 20));
}

core::Result<PageSpreadArena::Prepared*> PageSpreadArena::prepare(core::PagePolicy policy,
                                                                  std::size_t spacing_bytes,
                                                                  std::size_t buffer_bytes, std::size_t pages,
                                                                  std::size_t line_bytes, std::uint64_t seed) {
  if (!buffer_ || policy_ != policy || spacing_bytes_ != spacing_bytes || buffer_->size_bytes() < buffer_bytes) {
    if (failed_policy_ && *failed_policy_ == policy && buffer_bytes >= failed_bytes_ && failure_) return *failure_;
    release();
    auto buffer = core::Buffer::allocate(buffer_bytes, policy);
    if (!buffer) {
      failed_policy_ = policy;
      failed_bytes_ = buffer_bytes;
      failure_ = buffer.error();
      return buffer.error();
    }
    buffer_.emplace(std::move(*buffer));
    policy_ = policy;
    spacing_bytes_ = spacing_bytes;
  }
  if (prepared_ && prepared_->chain.length == pages) return &*prepared_;
  Prepared p;
  p.chain = core::build_page_chain(buffer_->bytes(), spacing_bytes, line_bytes, pages, seed);
  p.backing = &buffer_->backing();
  p.position = warm_up_chain(p.chain);
  prepared_ = p;
  return &*prepared_;
}

void PageSpreadArena::release() {
  prepared_.reset();
  buffer_.reset();
}

core::Result<ReferenceArena::Prepared*> ReferenceArena::prepare(std::size_t max_bytes, std::size_t lines,
                                                                std::size_t line_bytes, std::size_t group_pages,
                                                                std::uint64_t seed) {
  if (!buffer_ || buffer_->size_bytes() < max_bytes) {
    buffer_.reset();
    prepared_.reset();
    auto buffer = allocate_thp_else_4k(max_bytes);
    if (!buffer) return buffer.error();
    buffer_.emplace(std::move(*buffer));
  }
  if (prepared_ && prepared_->chain.length == lines) return &*prepared_;
  const auto memory = buffer_->bytes().first(lines * line_bytes);
  Prepared p;
  p.backing = &buffer_->backing();
  if (buffer_->policy() == core::PagePolicy::kThp) {
    p.chain = core::build_random_cycle(memory, line_bytes, seed);
    p.tlb_method = "huge-pages";
  } else {
    p.chain = core::build_page_group_cycle(memory, line_bytes, core::base_page_bytes(), group_pages, seed);
    p.tlb_method = fmt::format("page-groups-{}", group_pages);
  }
  p.position = warm_up_chain(p.chain);
  prepared_ = p;
  return &*prepared_;
}

std::map<std::string, std::string> spread_label(const PageSpreadArena::Prepared& p, core::PagePolicy policy,
                                                std::size_t pages, std::size_t line_bytes,
                                                std::map<std::string, std::string> fields) {
  fields["page"] = std::string(core::cli_name(policy));
  fields["pages"] = std::to_string(pages);
  fields["page_bytes"] = std::to_string(core::requested_page_bytes(policy));
  fields["line_bytes"] = std::to_string(line_bytes);
  fields["footprint_bytes"] = std::to_string(pages * line_bytes);
  fields["seed"] = std::to_string(p.chain.seed);
  return with_backing(std::move(fields), *p.backing);
}

std::map<std::string, std::string> reference_label(const ReferenceArena::Prepared& p, std::size_t pages,
                                                   std::size_t line_bytes, std::map<std::string, std::string> fields) {
  fields["page"] = std::string(core::cli_name(p.backing->requested));
  fields["pages"] = std::to_string(pages);
  fields["line_bytes"] = std::to_string(line_bytes);
  fields["footprint_bytes"] = std::to_string(pages * line_bytes);
  fields["tlb_method"] = p.tlb_method;
  fields["seed"] = std::to_string(p.chain.seed);
  return with_backing(std::move(fields), *p.backing);
}

}  // namespace memprobe::bench
