// Pointer chains built in place: each node's first 8 bytes hold the address of
// the next node, so a chase is one dependent `mov (%reg),%reg` per step.
// Deterministic: own bounded draw on std::mt19937_64 (whose output the standard
// fixes), never std::shuffle or std::uniform_int_distribution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace memprobe::core {

inline constexpr std::uint64_t kDefaultChainSeed = 0x6d656d70726f6265;  // "memprobe"

// Unbiased draws from std::mt19937_64 (Lemire's multiply-and-reject).
class ChainRng {
 public:
  explicit ChainRng(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, bound); bound > 0.
  std::uint64_t below(std::uint64_t bound);

 private:
  std::mt19937_64 engine_;
};

// Sattolo's algorithm: a uniformly random cyclic permutation of 0..n-1 as
// next[i]; following next from any i visits all n before returning.
std::vector<std::size_t> random_cycle_order(std::size_t n, ChainRng& rng);

struct Chain {
  void* head = nullptr;
  std::size_t length = 0;        // nodes in the cycle
  std::size_t stride_bytes = 0;  // node spacing (random/stride) or page size (page chain)
  std::uint64_t seed = 0;
};

// One random single cycle over every node_bytes-sized node of `memory`
// (memory.size() / node_bytes nodes; node_bytes >= 8, multiple of 8).
Chain build_random_cycle(std::span<std::byte> memory, std::size_t node_bytes, std::uint64_t seed);

// A random single cycle over `nodes` nodes spread evenly over all of `memory`:
// memory is cut into `nodes` equal slots (whole nodes each), one node at a
// random node position inside each slot, slots visited in a random cycle. A
// chase over it touches every part of a set far larger than the caches (so
// every page-table page is in play) at the cost of building `nodes` links,
// not one per line. nodes >= memory.size() / node_bytes is
// build_random_cycle's chain shape (one node per slot, every node used).
Chain build_sparse_random_cycle(std::span<std::byte> memory, std::size_t node_bytes, std::size_t nodes,
                                std::uint64_t seed);

// Random cycle that stays inside groups of `group_pages` pages (of page_bytes):
// a random cycle over the group's nodes, groups visited in random order, so
// each group visit costs at most group_pages TLB misses (multichase "TLB
// locality"). Keeps TLB misses out of cache-latency curves on 4 KiB pages.
Chain build_page_group_cycle(std::span<std::byte> memory, std::size_t node_bytes,
                             std::size_t page_bytes, std::size_t group_pages, std::uint64_t seed);

// Nodes every stride_bytes in address order, the last linking to the first.
Chain build_stride_chain(std::span<std::byte> memory, std::size_t stride_bytes);

// `nodes` nodes, node i at i * stride_bytes plus a line offset, visited in a
// random single cycle. The offset is (i mod (rotate_bytes / line_bytes)) *
// line_bytes, or 0 for every node when rotate_bytes is 0. rotate_bytes 0:
// every node at the same offset of its slot, so with stride_bytes a multiple
// of a cache's way stride they all fall in one set of it (the associativity
// probe). rotate_bytes = a base page: one line per strided page, spread over
// the cache sets (the DTLB stride probe), so only the TLB sees the stride.
// Needs rotate_bytes <= stride_bytes, both multiples of line_bytes (>= 8),
// and nodes <= memory.size() / stride_bytes.
Chain build_strided_cycle(std::span<std::byte> memory, std::size_t stride_bytes, std::size_t nodes,
                          std::size_t line_bytes, std::size_t rotate_bytes, std::uint64_t seed);

// A random single cycle over nodes at the given byte offsets of memory (each
// a multiple of 8, distinct, with 8 bytes inside memory): for probes whose
// node placement is a geometry of their own (the DTLB ways probe: k pages in
// each of several sets plus filler pages in other sets).
Chain build_cycle_at(std::span<std::byte> memory, const std::vector<std::size_t>& offsets, std::uint64_t seed);

// One line per page over the first `pages` pages of memory, pages visited in a
// random single cycle; page i's line is at offset (i mod lines_per_page) * line_bytes
// so the touched lines spread over all cache sets and stay cache-resident.
Chain build_page_chain(std::span<std::byte> memory, std::size_t page_bytes, std::size_t line_bytes,
                       std::size_t pages, std::uint64_t seed);

// The line-size probe's chain: `chunks` chunks of chunk_bytes visited in a
// random single cycle, two dependent nodes per chunk. The first is the
// chunk's top word (offset chunk_bytes - 8) and points offset_bytes below
// itself, to the second, which points to the next chunk's top. Every top is
// the last word of a kLineProbeMaxLineBytes-aligned block, so for any line of
// up to that size the second load shares the first's line exactly when
// offset_bytes < line. Descending, so a next-line prefetcher triggered by the
// first load fetches the wrong neighbour. length counts both nodes (2 x
// chunks); stride_bytes is chunk_bytes. Needs memory aligned to
// kLineProbeMaxLineBytes, chunk_bytes a multiple of it, offset_bytes a
// multiple of 8 in [8, chunk_bytes - 8], chunks <= memory.size() / chunk_bytes.
inline constexpr std::size_t kLineProbeMaxLineBytes = 256;
Chain build_line_probe_chain(std::span<std::byte> memory, std::size_t chunk_bytes, std::size_t offset_bytes,
                             std::size_t chunks, std::uint64_t seed);

// Follows the chain from head: the nodes in visiting order, stopping when
// head comes back or after max_steps. For tests and verification, not timing.
std::vector<const std::byte*> walk_chain(const void* head, std::size_t max_steps);

}  // namespace memprobe::core
