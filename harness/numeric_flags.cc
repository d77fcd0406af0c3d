#include "harness/numeric_flags.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>

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

}  // namespace memprobe::harness
