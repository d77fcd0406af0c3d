#include "core/hwloc_support.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace memprobe::core {

HwlocTopologyHandle load_hwloc_topology(const char* synthetic) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot initialise hwloc topology");
  }
  HwlocTopologyHandle topology(raw);
  if (synthetic != nullptr && hwloc_topology_set_synthetic(raw, synthetic) != 0) {
    throw std::runtime_error(fmt::format("cannot parse hwloc synthetic topology '{}'", synthetic));
  }
  if (hwloc_topology_load(raw) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot load hwloc topology");
  }
  return topology;
}

hwloc_topology_t process_topology() {
  static const HwlocTopologyHandle topology = load_hwloc_topology(nullptr);
  return topology.get();
}

std::string bitmap_list(hwloc_const_bitmap_t set) {
  char* text = nullptr;
  if (hwloc_bitmap_list_asprintf(&text, set) < 0 || text == nullptr) return "?";
  std::string list(text);
  std::free(text);
  return list;
}

}  // namespace memprobe::core
