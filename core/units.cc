#include "core/units.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace memprobe::core {

std::string format_bytes(std::uint64_t bytes) {
  struct Unit {
    std::uint64_t bytes;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{kGiB, "GiB"}, {kMiB, "MiB"}, {kKiB, "KiB"}};
  for (const Unit& u : kUnits) {
    if (bytes >= u.bytes) {
      if (bytes % u.bytes == 0) return fmt::format("{} {}", bytes / u.bytes, u.name);
      // Two decimals at most, trailing zeros dropped: "1.5 MiB", "1000.98 KiB".
      std::string number = fmt::format("{:.2f}", static_cast<double>(bytes) / static_cast<double>(u.bytes));
      number.erase(number.find_last_not_of('0') + 1);
      if (number.back() == '.') number.pop_back();
      return fmt::format("{} {}", number, u.name);
    }
  }
  return fmt::format("{} B", bytes);
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text.front())))) return std::nullopt;

  std::size_t number_end = 0;
  while (number_end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[number_end])) || text[number_end] == '.'))
    ++number_end;
  const std::string_view number = text.substr(0, number_end);
  std::string_view suffix_text = text.substr(number_end);
  // "32 KiB" (format_bytes' own output) parses like "32KiB".
  while (!suffix_text.empty() && suffix_text.front() == ' ') suffix_text.remove_prefix(1);
  std::string suffix;
  for (char c : suffix_text) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  std::uint64_t multiplier = 1;
  if (suffix.empty() || suffix == "b") multiplier = 1;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") multiplier = kKiB;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") multiplier = kMiB;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") multiplier = kGiB;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") multiplier = kGiB * kKiB;
  else return std::nullopt;

  if (number.find('.') == std::string_view::npos) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
    if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
    return value * multiplier;
  }
  // Fractions ("1.5MiB") must come out as a whole number of bytes.
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  const double bytes = value * static_cast<double>(multiplier);
  if (!(bytes < 1.8e19) || bytes != std::floor(bytes)) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace memprobe::core
