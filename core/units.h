// Size constants in binary units and the one place that turns "512KiB" into bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memprobe::core {

inline constexpr std::size_t kKiB = std::size_t{1} << 10;
inline constexpr std::size_t kMiB = std::size_t{1} << 20;
inline constexpr std::size_t kGiB = std::size_t{1} << 30;

// "32 KiB", "1.5 MiB", "256 MiB", "4 GiB"; exact powers print without decimals.
std::string format_bytes(std::uint64_t bytes);

// Parses "4096", "64KiB", "64K", "2MiB", "2m", "1GiB", "1.5MiB" (binary units;
// "kB"/"MB" are accepted as binary too, as lscpu prints them). Rejects empty
// input, negative numbers, unknown suffixes, trailing junk and overflow.
std::optional<std::uint64_t> parse_bytes(std::string_view text);

}  // namespace memprobe::core
