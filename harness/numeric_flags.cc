#include "harness/numeric_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "harness/plan.h"

namespace memprobe::harness {
namespace {

bool is_blank(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

[[noreturn]] void refuse(std::string_view flag, std::string_view text, std::string_view expected) {
  throw UsageError(fmt::format("{}: '{}' is not {}", flag, text, expected));
}

}  // namespace

void require_bare_number_text(std::string_view flag, std::string_view text, std::string_view expected) {
  if (text.empty() || is_blank(text.front()) || is_blank(text.back())) refuse(flag, text, expected);
}

double parse_decimal(std::string_view flag, std::string_view text, std::string_view expected) {
  require_bare_number_text(flag, text, expected);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || stop != end || !std::isfinite(value)) refuse(flag, text, expected);
  return value;
}

std::vector<int> parse_cpu_list(std::string_view flag, std::string_view text, const std::vector<int>& allowed,
                                std::string_view allowed_text) {
  constexpr std::string_view kExpected = "a CPU list such as 0-3,8";
  constexpr int kMaxCpu = 1 << 20;  // far above any machine; keeps a range from allocating forever
  require_bare_number_text(flag, text, kExpected);
  const auto number = [&](std::string_view digits) {
    int value = -1;
    const char* end = digits.data() + digits.size();
    // Digits only: from_chars would accept a '-' sign.
    if (digits.empty() || !std::isdigit(static_cast<unsigned char>(digits.front()))) refuse(flag, text, kExpected);
    const auto [stop, ec] = std::from_chars(digits.data(), end, value);
    if (ec != std::errc{} || stop != end || value > kMaxCpu) refuse(flag, text, kExpected);
    return value;
  };
  std::set<int> cpus;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const std::size_t dash = item.find('-');
    const int first = number(item.substr(0, dash));
    const int last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
    if (last < first) refuse(flag, text, kExpected);
    for (int cpu = first; cpu <= last; ++cpu) {
      if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end())
        throw UsageError(fmt::format("{}: CPU {} is outside the CPUs this process may run on: {}", flag, cpu,
                                     allowed_text));
      cpus.insert(cpu);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {cpus.begin(), cpus.end()};
}

}  // namespace memprobe::harness
