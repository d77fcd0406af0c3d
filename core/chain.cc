#include "core/chain.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace memprobe::core {
namespace {

// Nodes live in raw mapped bytes: memcpy is the aliasing-safe way to store and
// load the pointer (it compiles to one 8-byte move).
void store_next(std::byte* node, const std::byte* next) {
  const void* value = next;
  std::memcpy(node, &value, sizeof value);
}

const std::byte* load_next(const std::byte* node) {
  const void* value = nullptr;
  std::memcpy(&value, node, sizeof value);
  return static_cast<const std::byte*>(value);
}

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(what);
}

void require_node_bytes(std::size_t node_bytes, const char* function) {
  if (node_bytes < sizeof(void*) || node_bytes % sizeof(void*) != 0)
    throw std::invalid_argument(std::string(function) +
                                ": node size must be a non-zero multiple of 8 bytes");
}

// Fisher-Yates over v with the project's own bounded draw (deterministic
// across standard libraries, unlike std::shuffle).
void shuffle(std::vector<std::size_t>& v, ChainRng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

std::uint64_t ChainRng::below(std::uint64_t bound) {
  if (bound == 0) return 0;  // documented precondition; avoid dividing by zero
  // Lemire, "Fast Random Integer Generation in an Interval" (2019): the high
  // word of x * bound is uniform in [0, bound) once the low words that would
  // over-represent some results (those below 2^64 mod bound) are rejected.
  unsigned __int128 product = static_cast<unsigned __int128>(engine_()) * bound;
  auto low = static_cast<std::uint64_t>(product);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    while (low < threshold) {
      product = static_cast<unsigned __int128>(engine_()) * bound;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::vector<std::size_t> random_cycle_order(std::size_t n, ChainRng& rng) {
  std::vector<std::size_t> next(n);
  for (std::size_t i = 0; i < n; ++i) next[i] = i;
  // Sattolo: j strictly below i makes the permutation a single n-cycle; a
  // uniform j makes every one of the (n-1)! cycles equally likely.
  for (std::size_t i = n; i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i - 1));
    std::swap(next[i - 1], next[j]);
  }
  return next;
}

Chain build_random_cycle(std::span<std::byte> memory, std::size_t node_bytes, std::uint64_t seed) {
  require_node_bytes(node_bytes, "build_random_cycle");
  const std::size_t nodes = memory.size() / node_bytes;
  Chain chain{nullptr, nodes, node_bytes, seed};
  if (nodes == 0) return chain;
  ChainRng rng(seed);
  const std::vector<std::size_t> next = random_cycle_order(nodes, rng);
  std::byte* base = memory.data();
  // Written in address order: the random part is only where each pointer goes.
  for (std::size_t k = 0; k < nodes; ++k) store_next(base + k * node_bytes, base + next[k] * node_bytes);
  chain.head = base;
  return chain;
}

Chain build_sparse_random_cycle(std::span<std::byte> memory, std::size_t node_bytes, std::size_t nodes,
                                std::uint64_t seed) {
  require_node_bytes(node_bytes, "build_sparse_random_cycle");
  const std::size_t all_nodes = memory.size() / node_bytes;
  nodes = std::min(nodes, all_nodes);
  Chain chain{nullptr, nodes, node_bytes, seed};
  if (nodes == 0) return chain;
  const std::size_t slot_nodes = all_nodes / nodes;
  ChainRng rng(seed);
  std::vector<std::byte*> node_of_slot(nodes);
  std::byte* base = memory.data();
  for (std::size_t s = 0; s < nodes; ++s)
    node_of_slot[s] = base + (s * slot_nodes + (slot_nodes > 1 ? rng.below(slot_nodes) : 0)) * node_bytes;
  const std::vector<std::size_t> next = random_cycle_order(nodes, rng);
  for (std::size_t s = 0; s < nodes; ++s) store_next(node_of_slot[s], node_of_slot[next[s]]);
  chain.head = node_of_slot[0];
  return chain;
}

Chain build_page_group_cycle(std::span<std::byte> memory, std::size_t node_bytes,
                             std::size_t page_bytes, std::size_t group_pages, std::uint64_t seed) {
  require_node_bytes(node_bytes, "build_page_group_cycle");
  require(page_bytes >= node_bytes && page_bytes % node_bytes == 0,
          "build_page_group_cycle: page size must be a multiple of the node size");
  require(group_pages > 0, "build_page_group_cycle: group_pages must be at least 1");
  const std::size_t nodes = memory.size() / node_bytes;
  Chain chain{nullptr, nodes, node_bytes, seed};
  if (nodes == 0) return chain;

  const std::size_t group_nodes = group_pages * (page_bytes / node_bytes);
  const std::size_t groups = nodes / group_nodes + (nodes % group_nodes != 0);  // last may be partial
  ChainRng rng(seed);
  std::vector<std::size_t> group_order(groups);
  for (std::size_t g = 0; g < groups; ++g) group_order[g] = g;
  shuffle(group_order, rng);

  // The visiting sequence: each group's nodes in a random order, groups in a
  // random order. Linking it end to start makes one cycle that enters a group
  // once and leaves it only after visiting every node in it.
  std::vector<std::size_t> sequence;
  sequence.reserve(nodes);
  std::vector<std::size_t> members;
  for (const std::size_t g : group_order) {
    const std::size_t first = g * group_nodes;
    const std::size_t last = std::min(nodes, first + group_nodes);
    members.resize(last - first);
    for (std::size_t k = first; k < last; ++k) members[k - first] = k;
    shuffle(members, rng);
    sequence.insert(sequence.end(), members.begin(), members.end());
  }
  std::byte* base = memory.data();
  for (std::size_t i = 0; i < nodes; ++i) {
    const std::size_t to = sequence[i + 1 == nodes ? 0 : i + 1];
    store_next(base + sequence[i] * node_bytes, base + to * node_bytes);
  }
  chain.head = base + sequence[0] * node_bytes;
  return chain;
}

Chain build_stride_chain(std::span<std::byte> memory, std::size_t stride_bytes) {
  require_node_bytes(stride_bytes, "build_stride_chain");
  const std::size_t nodes = memory.size() / stride_bytes;
  Chain chain{nullptr, nodes, stride_bytes, 0};
  if (nodes == 0) return chain;
  std::byte* base = memory.data();
  for (std::size_t k = 0; k < nodes; ++k) {
    store_next(base + k * stride_bytes, base + (k + 1 == nodes ? 0 : k + 1) * stride_bytes);
  }
  chain.head = base;
  return chain;
}

Chain build_strided_cycle(std::span<std::byte> memory, std::size_t stride_bytes, std::size_t nodes,
                          std::size_t line_bytes, std::size_t rotate_bytes, std::uint64_t seed) {
  require_node_bytes(line_bytes, "build_strided_cycle");
  require(stride_bytes >= line_bytes && stride_bytes % line_bytes == 0,
          "build_strided_cycle: the stride must be a multiple of the line size");
  require(rotate_bytes <= stride_bytes && rotate_bytes % line_bytes == 0,
          "build_strided_cycle: lines rotate within a multiple of the line size, at most the stride");
  require(nodes <= memory.size() / stride_bytes, "build_strided_cycle: more nodes requested than the memory holds");
  Chain chain{nullptr, nodes, stride_bytes, seed};
  if (nodes == 0) return chain;
  const std::size_t rotation_lines = rotate_bytes / line_bytes;
  std::byte* base = memory.data();
  auto node = [&](std::size_t i) {
    return base + i * stride_bytes + (rotation_lines > 0 ? (i % rotation_lines) * line_bytes : 0);
  };
  ChainRng rng(seed);
  const std::vector<std::size_t> next = random_cycle_order(nodes, rng);
  for (std::size_t i = 0; i < nodes; ++i) store_next(node(i), node(next[i]));
  chain.head = node(0);
  return chain;
}

Chain build_cycle_at(std::span<std::byte> memory, const std::vector<std::size_t>& offsets, std::uint64_t seed) {
  for (const std::size_t offset : offsets)
    require(offset % sizeof(void*) == 0 && offset + sizeof(void*) <= memory.size(),
            "build_cycle_at: every node must be 8-byte aligned and inside the memory");
  Chain chain{nullptr, offsets.size(), 0, seed};
  if (offsets.empty()) return chain;
  std::byte* base = memory.data();
  ChainRng rng(seed);
  const std::vector<std::size_t> next = random_cycle_order(offsets.size(), rng);
  for (std::size_t i = 0; i < offsets.size(); ++i) store_next(base + offsets[i], base + offsets[next[i]]);
  chain.head = base + offsets[0];
  return chain;
}

Chain build_page_chain(std::span<std::byte> memory, std::size_t page_bytes, std::size_t line_bytes,
                       std::size_t pages, std::uint64_t seed) {
  // Page i's line sits at slot (i mod lines_per_page): consecutive pages use
  // different cache sets, so the touched lines stay cache-resident and only
  // the TLB sees the page count.
  return build_strided_cycle(memory, page_bytes, pages, line_bytes, page_bytes, seed);
}

Chain build_line_probe_chain(std::span<std::byte> memory, std::size_t chunk_bytes, std::size_t offset_bytes,
                             std::size_t chunks, std::uint64_t seed) {
  require(reinterpret_cast<std::uintptr_t>(memory.data()) % kLineProbeMaxLineBytes == 0,
          "build_line_probe_chain: memory must be aligned to the largest probed line");
  require(chunk_bytes >= kLineProbeMaxLineBytes && chunk_bytes % kLineProbeMaxLineBytes == 0,
          "build_line_probe_chain: chunk size must be a multiple of the largest probed line");
  require(offset_bytes >= sizeof(void*) && offset_bytes % sizeof(void*) == 0 &&
              offset_bytes <= chunk_bytes - sizeof(void*),
          "build_line_probe_chain: offset must be a multiple of 8 bytes inside the chunk, below its top word");
  require(chunks <= memory.size() / chunk_bytes, "build_line_probe_chain: more chunks requested than the memory holds");
  Chain chain{nullptr, 2 * chunks, chunk_bytes, seed};
  if (chunks == 0) return chain;
  std::byte* base = memory.data();
  auto top = [&](std::size_t chunk) { return base + chunk * chunk_bytes + chunk_bytes - sizeof(void*); };
  ChainRng rng(seed);
  const std::vector<std::size_t> next = random_cycle_order(chunks, rng);
  for (std::size_t i = 0; i < chunks; ++i) {
    std::byte* second = top(i) - offset_bytes;
    store_next(top(i), second);
    store_next(second, top(next[i]));
  }
  chain.head = top(0);
  return chain;
}

std::vector<const std::byte*> walk_chain(const void* head, std::size_t max_steps) {
  std::vector<const std::byte*> visited;
  if (head == nullptr) return visited;
  const auto* start = static_cast<const std::byte*>(head);
  const std::byte* p = start;
  for (std::size_t step = 0; step < max_steps; ++step) {
    visited.push_back(p);
    p = load_next(p);
    if (p == start) break;
  }
  return visited;
}

}  // namespace memprobe::core
