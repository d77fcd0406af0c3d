#include "core/units.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
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

namespace {

// whole.fraction * multiplier (a power of two) as an exact byte count, or
// nullopt if it overflows 64 bits or does not land on a whole byte.
// value = digits / 10^f with f = fraction digits (trailing zeros dropped) and
// multiplier = 2^k, so bytes = digits / 5^f * 2^(k - f): whole only if 5^f
// divides the digits and 2^f divides 2^k times the quotient.
std::optional<std::uint64_t> scaled_decimal(std::string_view whole, std::string_view fraction,
                                            std::uint64_t multiplier) {
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  unsigned k = 0;
  while ((std::uint64_t{1} << k) < multiplier) ++k;
  // 2^f must divide 2^k * (an odd number): more fraction digits than k
  // cannot be a whole byte (and would not fit the arithmetic below).
  if (fraction.size() > k) return std::nullopt;
  using u128 = unsigned __int128;
  u128 divisor = 1;  // 5^f <= 5^40 < 2^94
  for (std::size_t i = 0; i < fraction.size(); ++i) divisor *= 5;
  // Long division of the digit string by 5^f; the quotient must stay below
  // 2^64 * 2^f, beyond which the result overflows anyway.
  const u128 quotient_limit = static_cast<u128>(std::numeric_limits<std::uint64_t>::max()) << fraction.size();
  u128 quotient = 0, remainder = 0;
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      remainder = remainder * 10 + static_cast<unsigned>(c - '0');
      quotient = quotient * 10 + remainder / divisor;
      remainder %= divisor;
      if (quotient > quotient_limit) return std::nullopt;
    }
  }
  if (remainder != 0) return std::nullopt;  // 5^f does not divide: not a whole byte
  const u128 bytes = quotient << (k - fraction.size());
  if (bytes > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace

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

  // Exact decimal arithmetic, no double: "1.0000000000000000001GiB" is
  // 1 GiB plus a fraction of a byte and must be refused, not rounded to 1 GiB.
  const std::size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && fraction.empty()) ||
      fraction.find('.') != std::string_view::npos)
    return std::nullopt;
  return scaled_decimal(whole, fraction, multiplier);
}

}  // namespace memprobe::core
