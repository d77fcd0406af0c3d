#include "benchmarks/arena.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/chain.h"

namespace memprobe::bench {
namespace {

struct Arena {
  std::optional<core::Buffer> buffer;
  std::string user;
  std::uint64_t epoch = 0;
  // Allocations that failed since the last release: retrying them for every
  // case would repeat the same (possibly slow) failure.
  std::map<std::pair<core::PagePolicy, std::size_t>, core::Unavailable> failures;
};

// Function-local: the benchmarks run on the harness's one pinned thread.
Arena& arena() {
  static Arena instance;
  return instance;
}

core::Result<core::Buffer> allocate_remembering_failure(core::PagePolicy policy, std::size_t bytes) {
  Arena& a = arena();
  if (auto it = a.failures.find({policy, bytes}); it != a.failures.end()) return it->second;
  auto buffer = core::Buffer::allocate(bytes, policy);
  if (!buffer) a.failures.emplace(std::make_pair(policy, bytes), buffer.error());
  return buffer;
}

}  // namespace

core::Result<ArenaLease> acquire_arena(std::string_view user, core::PagePolicy policy,
                                       std::size_t min_bytes, std::size_t preferred_bytes) {
  Arena& a = arena();
  if (preferred_bytes < min_bytes) preferred_bytes = min_bytes;
  if (a.buffer && a.buffer->policy() == policy && a.buffer->size_bytes() >= min_bytes) {
    if (a.user != user) {
      a.user = std::string(user);
      ++a.epoch;
    }
    return ArenaLease{&*a.buffer, a.epoch};
  }
  a.buffer.reset();  // release the previous buffer (and its pool pages) first
  auto buffer = allocate_remembering_failure(policy, preferred_bytes);
  if (!buffer && preferred_bytes > min_bytes) buffer = allocate_remembering_failure(policy, min_bytes);
  if (!buffer) return buffer.error();
  a.buffer.emplace(std::move(*buffer));
  a.user = std::string(user);
  ++a.epoch;
  return ArenaLease{&*a.buffer, a.epoch};
}

core::Result<PagedLease> acquire_thp_else_4k_arena(std::string_view user, std::size_t bytes) {
  auto lease = acquire_arena(user, core::PagePolicy::kThp, bytes, bytes);
  if (lease && lease->buffer->backing().matches_request()) return PagedLease{*lease, "thp"};
  lease = acquire_arena(user, core::PagePolicy::k4K, bytes, bytes);
  if (!lease) return lease.error();
  return PagedLease{*lease, "4k"};
}

core::Result<bool> prepare_dram_chain(std::string_view user, std::size_t bytes, std::size_t line_bytes,
                                      std::uint64_t seed, DramChain& chain) {
  auto paged = acquire_thp_else_4k_arena(user, bytes);
  if (!paged) return paged.error();
  const ArenaLease& lease = paged->lease;
  if (chain.epoch == lease.epoch) return false;
  chain.epoch = lease.epoch;
  chain.page = paged->page;
  chain.backing = &lease.buffer->backing();
  chain.chain = core::build_random_cycle(lease.buffer->bytes().first(bytes), line_bytes, seed);
  chain.position = chain.chain.head;
  return true;
}

core::Result<core::Buffer> allocate_thp_else_4k(std::size_t bytes) {
  auto thp = core::Buffer::allocate(bytes, core::PagePolicy::kThp);
  if (thp && thp->backing().matches_request()) return thp;
  return core::Buffer::allocate(bytes, core::PagePolicy::k4K);
}

std::size_t arena_bytes_held(core::PagePolicy policy) {
  const Arena& a = arena();
  return a.buffer && a.buffer->policy() == policy ? a.buffer->size_bytes() : 0;
}

void release_arena() {
  Arena& a = arena();
  a.buffer.reset();
  a.user.clear();
  a.failures.clear();
  ++a.epoch;
}

}  // namespace memprobe::bench
