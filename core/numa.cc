#include "core/numa.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/buffer.h"
#include "core/hwloc_support.h"
#include "core/system_files.h"
#include "core/topology.h"

namespace memprobe::core {
namespace {

std::string list_of(hwloc_const_bitmap_t set) {
  const std::string list = bitmap_list(set);
  return list.empty() ? "none" : list;
}

std::string list_of(const std::vector<unsigned>& nodes) { return fmt::format("{}", fmt::join(nodes, ",")); }

std::vector<unsigned> node_indexes(hwloc_topology_t topology) {
  std::vector<unsigned> nodes;
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
       n = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, n))
    nodes.push_back(n->os_index);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

}  // namespace

const NumaNodePlan* NumaPlan::find(unsigned node) const {
  for (const NumaNodePlan& n : nodes)
    if (n.node == node) return &n;
  return nullptr;
}

NumaPlan plan_numa(hwloc_topology_t topology, hwloc_const_bitmap_t allowed, const std::vector<unsigned>& only_nodes) {
  if (allowed == nullptr) allowed = hwloc_topology_get_allowed_cpuset(topology);
  NumaPlan plan;
  std::vector<NumaNodePlan> all;
  for (hwloc_obj_t n = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, nullptr); n != nullptr;
       n = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_NUMANODE, n)) {
    NumaNodePlan node;
    node.node = n->os_index;
    node.memory_bytes = n->attr != nullptr ? n->attr->numanode.local_memory : 0;
    HwlocBitmapHandle usable(hwloc_bitmap_alloc());
    if (!usable) throw std::bad_alloc();
    if (n->cpuset != nullptr) hwloc_bitmap_and(usable.get(), n->cpuset, allowed);
    int cpu = 0;
    hwloc_bitmap_foreach_begin(cpu, usable.get()) node.cpus.push_back(cpu);
    hwloc_bitmap_foreach_end();
    if (!node.cpus.empty()) {
      node.latency_cpu = node.cpus.front();
    } else if (n->cpuset == nullptr || hwloc_bitmap_iszero(n->cpuset)) {
      node.no_cpu_reason = fmt::format("node {} has no CPUs (a memory-only node)", node.node);
    } else {
      node.no_cpu_reason = fmt::format("node {}'s CPUs {} are outside the CPUs this process may run on ({})",
                                       node.node, list_of(n->cpuset), list_of(allowed));
    }
    if (node.memory_bytes == 0)
      node.no_memory_reason = fmt::format("node {} has no memory (hwloc reports 0 bytes)", node.node);
    all.push_back(std::move(node));
  }
  std::sort(all.begin(), all.end(), [](const NumaNodePlan& a, const NumaNodePlan& b) { return a.node < b.node; });
  const auto with_memory = static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const NumaNodePlan& n) { return n.memory_bytes > 0; }));

  if (!only_nodes.empty()) {
    for (const NumaNodePlan& n : all)
      if (std::find(only_nodes.begin(), only_nodes.end(), n.node) != only_nodes.end()) plan.nodes.push_back(n);
  } else if (all.size() > kMaxPlannedNodes) {
    // Bound a large machine: the first kMaxPlannedNodes nodes.
    plan.nodes.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kMaxPlannedNodes));
    plan.note = fmt::format("{} NUMA nodes: the matrix measures nodes {}-{} ({}x{}); a node list chooses others",
                            all.size(), plan.nodes.front().node, plan.nodes.back().node, kMaxPlannedNodes,
                            kMaxPlannedNodes);
  } else {
    plan.nodes = all;
  }
  if (with_memory <= 1 && plan.note.empty())
    plan.note = fmt::format("one NUMA node: hwloc reports {} node with memory; the matrix is 1x1", with_memory);

  for (const NumaNodePlan& mem : plan.nodes) {
    for (const NumaNodePlan& cpu : plan.nodes) {
      NumaPair pair{cpu.node, mem.node, {}};
      if (!cpu.no_cpu_reason.empty())
        pair.skip_reason = cpu.no_cpu_reason;
      else if (!mem.no_memory_reason.empty())
        pair.skip_reason = mem.no_memory_reason;
      // A one-node machine's memory-less, CPU-less extra nodes add nothing.
      if (with_memory <= 1 && (!cpu.no_cpu_reason.empty() || !mem.no_memory_reason.empty())) continue;
      plan.pairs.push_back(std::move(pair));
    }
  }
  return plan;
}

NumaPlan plan_numa_synthetic(const std::string& description, const std::vector<int>& allowed_cpus,
                             const std::vector<unsigned>& only_nodes) {
  const HwlocTopologyHandle topology = load_hwloc_topology(description.c_str());
  HwlocBitmapHandle allowed(hwloc_bitmap_alloc());
  if (!allowed) throw std::bad_alloc();
  if (allowed_cpus.empty())
    hwloc_bitmap_copy(allowed.get(), hwloc_topology_get_allowed_cpuset(topology.get()));
  for (const int cpu : allowed_cpus) hwloc_bitmap_set(allowed.get(), static_cast<unsigned>(cpu));
  return plan_numa(topology.get(), allowed.get(), only_nodes);
}

NumaPlan plan_numa_here(const std::vector<unsigned>& only_nodes) {
  HwlocBitmapHandle allowed(hwloc_bitmap_alloc());
  if (!allowed) throw std::bad_alloc();
  for (const int cpu : inherited_cpus()) hwloc_bitmap_set(allowed.get(), static_cast<unsigned>(cpu));
  return plan_numa(process_topology(), allowed.get(), only_nodes);
}

std::string check_numa_nodes(const std::vector<unsigned>& nodes) {
  const std::vector<unsigned> known = node_indexes(process_topology());
  for (const unsigned node : nodes)
    if (std::find(known.begin(), known.end(), node) == known.end())
      return fmt::format("no NUMA node {}: this machine has node{} {}", node, known.size() == 1 ? "" : "s",
                         list_of(known));
  return "";
}

Result<NodeBuffer> NodeBuffer::allocate(std::size_t bytes, unsigned node) {
  const std::size_t page = base_page_bytes();
  bytes = (bytes + page - 1) / page * page;
  if (bytes == 0) return Unavailable{"cannot bind 0 bytes"};
  hwloc_topology_t topology = process_topology();
  HwlocBitmapHandle nodeset(hwloc_bitmap_alloc());
  if (!nodeset) throw std::bad_alloc();
  hwloc_bitmap_set(nodeset.get(), node);
  void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return Unavailable{fmt::format("cannot map {} bytes for node {}: {}", bytes, node, errno_text(errno))};
  NodeBuffer buffer;
  buffer.data_ = static_cast<std::byte*>(map);
  buffer.bytes_ = bytes;
  buffer.node_ = node;
  // Strict bind before the first touch: every page is allocated on `node`
  // or the touch fails (SIGBUS/OOM), never silently elsewhere.
  if (hwloc_set_area_membind(topology, map, bytes, nodeset.get(), HWLOC_MEMBIND_BIND,
                             HWLOC_MEMBIND_STRICT | HWLOC_MEMBIND_BYNODESET) != 0)
    return Unavailable{fmt::format("cannot bind memory to NUMA node {}: {}", node, errno_text(errno))};
  for (std::size_t off = 0; off < bytes; off += page) buffer.data_[off] = std::byte{1};
  return buffer;
}

NodeBuffer::NodeBuffer(NodeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)), node_(other.node_) {}

NodeBuffer& NodeBuffer::operator=(NodeBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(data_, bytes_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    node_ = other.node_;
  }
  return *this;
}

NodeBuffer::~NodeBuffer() {
  if (data_ != nullptr) munmap(data_, bytes_);
}

std::uint64_t PagePlacement::on(int node) const {
  const auto it = pages_per_node.find(node);
  return it == pages_per_node.end() ? 0 : it->second;
}

std::string PagePlacement::describe(int node) const {
  std::string out = fmt::format("{}/{} pages on node {}", on(node), pages, node);
  std::string others;
  for (const auto& [where, count] : pages_per_node) {
    if (where == node) continue;
    others += others.empty() ? "" : ", ";
    others += where >= 0 ? fmt::format("{} on node {}", count, where)
                         : fmt::format("{} not placed ({})", count, errno_text(-where));
  }
  return others.empty() ? out : out + " (" + others + ")";
}

Result<PagePlacement> page_placement(const void* addr, std::size_t bytes) {
  const std::size_t page = base_page_bytes();
  const auto begin = reinterpret_cast<std::uintptr_t>(addr) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(addr) + bytes;
  PagePlacement placement;
  constexpr std::size_t kBatch = 4096;
  std::vector<void*> pages;
  std::vector<int> status;
  for (std::uintptr_t p = begin; p < end;) {
    pages.clear();
    for (; p < end && pages.size() < kBatch; p += page) pages.push_back(reinterpret_cast<void*>(p));
    status.assign(pages.size(), 0);
    // move_pages(2) with nodes == NULL moves nothing: it reports each page's node.
    if (syscall(SYS_move_pages, 0, static_cast<unsigned long>(pages.size()), pages.data(), nullptr, status.data(), 0) !=
        0)
      return Unavailable{fmt::format("cannot read the pages' NUMA nodes (move_pages): {}", errno_text(errno))};
    for (const int s : status) ++placement.pages_per_node[s];
    placement.pages += pages.size();
  }
  return placement;
}

}  // namespace memprobe::core
