// NUMA: which CPUs run from each node and which (cpu node, memory node) pairs
// a matrix measures (a pure plan over an hwloc topology and the allowed CPU
// set), memory bound to one node, and where its pages really are.
#pragma once

#include <hwloc.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace memprobe::core {

// One NUMA node as the plan sees it (OS indexes throughout).
struct NumaNodePlan {
  unsigned node = 0;                  // hwloc os_index of the NUMA node
  std::uint64_t memory_bytes = 0;     // hwloc's local memory (0: none reported)
  std::vector<int> cpus;              // allowed CPUs local to the node, ascending: the bandwidth threads
  int latency_cpu = -1;               // the first of them: the latency chase's CPU; -1 without one
  std::string no_cpu_reason;          // non-empty: the node cannot be a CPU node (row)
  std::string no_memory_reason;       // non-empty: the node cannot be a memory node (column)
};

// One cell of the matrix: threads on cpu_node, memory on mem_node.
struct NumaPair {
  unsigned cpu_node = 0;
  unsigned mem_node = 0;
  std::string skip_reason;  // non-empty: not measured, and why
};

struct NumaPlan {
  std::vector<NumaNodePlan> nodes;  // by os_index
  std::vector<NumaPair> pairs;      // by memory node, then cpu node
  // One line about the matrix's shape ("one NUMA node: ...; the matrix is
  // 1x1"), or about the bound on a large machine; "" otherwise.
  std::string note;
  const NumaNodePlan* find(unsigned node) const;
};

// At most this many nodes (with CPUs and memory) are measured by default:
// 8 x 8 pairs. Larger machines measure the first kMaxPlannedNodes and skip
// the others' pairs with the reason (choose them with a node list).
inline constexpr std::size_t kMaxPlannedNodes = 8;

// The plan for `topology` and the CPUs the process may use (`allowed`, a
// cpuset; nullptr: the topology's allowed cpuset). `only_nodes`, if not
// empty, restricts the matrix to those nodes (os indexes, each of which
// must exist: see check_numa_nodes). Pure: reads the topology only.
NumaPlan plan_numa(hwloc_topology_t topology, hwloc_const_bitmap_t allowed, const std::vector<unsigned>& only_nodes = {});
// plan_numa over hwloc_topology_set_synthetic(description), with allowed
// CPUs given as OS indexes (empty: every PU). Throws std::runtime_error if the
// description does not parse.
NumaPlan plan_numa_synthetic(const std::string& description, const std::vector<int>& allowed_cpus,
                             const std::vector<unsigned>& only_nodes = {});
// plan_numa for this machine and inherited_cpus().
NumaPlan plan_numa_here(const std::vector<unsigned>& only_nodes = {});

// "" if every node of `nodes` is a NUMA node of this machine, else the
// one-line reason ("no NUMA node 5: this machine has nodes 0").
std::string check_numa_nodes(const std::vector<unsigned>& nodes);

// Anonymous memory bound (hwloc, strict MPOL_BIND) to one NUMA node, every
// page write-touched by the caller's thread; unmapped on destruction.
class NodeBuffer {
 public:
  // Unavailable with the reason when the binding or the mapping fails.
  static Result<NodeBuffer> allocate(std::size_t bytes, unsigned node);
  NodeBuffer() = default;
  NodeBuffer(NodeBuffer&& other) noexcept;
  NodeBuffer& operator=(NodeBuffer&& other) noexcept;
  NodeBuffer(const NodeBuffer&) = delete;
  NodeBuffer& operator=(const NodeBuffer&) = delete;
  ~NodeBuffer();
  std::byte* data() const { return data_; }
  std::size_t size_bytes() const { return bytes_; }
  unsigned node() const { return node_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t bytes_ = 0;
  unsigned node_ = 0;
};

// Where the pages of [addr, addr + bytes) are: pages per node, from
// move_pages(2) with no target nodes (the kernel's status of each page).
struct PagePlacement {
  std::map<int, std::uint64_t> pages_per_node;  // node -> pages; negative: -errno (e.g. -ENOENT not present)
  std::uint64_t pages = 0;
  std::uint64_t on(int node) const;
  // "65536/65536 pages on node 0" or "12/64 pages on node 1 (52 on node 0)".
  std::string describe(int node) const;
};
Result<PagePlacement> page_placement(const void* addr, std::size_t bytes);

}  // namespace memprobe::core
