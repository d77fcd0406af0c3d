// Sweep points derived from the machine: a log grid plus dense points around
// each reported size, so a knee can be placed wherever the hardware puts it.
#pragma once

#include <cstdint>
#include <vector>

namespace memprobe::bench {

// Sizes from min_bytes to max_bytes on a log2 grid with points_per_octave
// points per doubling, plus 0.75x, 0.875x, 1.125x and 1.25x (not in quick
// mode: 0.875x and 1.125x only) of each anchor (e.g. reported cache sizes)
// that lies inside the range; every size rounded to a multiple of
// granule_bytes, sorted, unique.
std::vector<std::uint64_t> log_sweep(std::uint64_t min_bytes, std::uint64_t max_bytes,
                                     int points_per_octave, const std::vector<std::uint64_t>& anchors,
                                     std::uint64_t granule_bytes);

}  // namespace memprobe::bench
