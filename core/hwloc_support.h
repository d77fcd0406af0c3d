// One way to load an hwloc topology and print its bitmaps, for every core/
// unit that reads hwloc (topology, pinning, NUMA planning).
#pragma once

#include <hwloc.h>

#include <memory>
#include <string>

namespace memprobe::core {

struct HwlocTopologyDeleter {
  void operator()(hwloc_topology* topology) const { hwloc_topology_destroy(topology); }
};
using HwlocTopologyHandle = std::unique_ptr<hwloc_topology, HwlocTopologyDeleter>;
struct HwlocBitmapDeleter {
  void operator()(hwloc_bitmap_s* bitmap) const { hwloc_bitmap_free(bitmap); }
};
using HwlocBitmapHandle = std::unique_ptr<hwloc_bitmap_s, HwlocBitmapDeleter>;

// Loads this machine's topology, or a synthetic one when `synthetic` is
// non-null ("pack:2 l3:2 core:2 pu:2"). Throws std::system_error when hwloc
// cannot initialise or load, std::runtime_error on a bad synthetic string.
HwlocTopologyHandle load_hwloc_topology(const char* synthetic);

// This machine's topology, loaded once (the load reads sysfs and takes
// milliseconds) and read-only afterwards, which hwloc allows from several
// threads.
hwloc_topology_t process_topology();

// "0-3,8"; "" for an empty set; "?" if hwloc cannot print it.
std::string bitmap_list(hwloc_const_bitmap_t set);

}  // namespace memprobe::core
