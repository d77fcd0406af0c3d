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

// Past this working set the latency sweep's points only have to show DRAM's
// plateau over two octaves, and each costs a chain over the whole set
// (0.2-0.35 s per point at 64-256 MiB in a guest, most of it building and
// warming the chain): 2 points per octave there, --quick's density, halve
// what a sweep that must grow costs.
inline constexpr std::uint64_t kDenseLatencySweepTopBytes = std::uint64_t{32} << 20;

// The latency sweep's working sets: 4 KiB .. max_bytes, 4 points per octave
// (2 with `quick`) up to kDenseLatencySweepTopBytes and 2 past it, with
// log_sweep's points around each anchor (reported cache sizes) throughout.
std::vector<std::uint64_t> latency_sweep_sizes(std::uint64_t max_bytes, bool quick,
                                               const std::vector<std::uint64_t>& anchors,
                                               std::uint64_t granule_bytes);

}  // namespace memprobe::bench
