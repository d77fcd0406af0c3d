// libFuzzer target: bytes -> string -> the command-line value parsers
// (core::parse_bytes, core::meminfo_field_bytes; harness::parse_page_list,
// parse_family_list, parse_counter_list, parse_max_working_set, parse_count). A UsageError is the documented answer to bad input;
// any other exception escaping, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/machine.h"
#include "core/units.h"
#include "harness/plan.h"

namespace {

template <typename Parse>
void expect_usage_error_only(Parse parse) {
  try {
    parse();
  } catch (const memprobe::harness::UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)memprobe::core::parse_bytes(text);
  (void)memprobe::core::meminfo_field_bytes(text, "MemAvailable");
  expect_usage_error_only([&] { (void)memprobe::harness::parse_page_list(text); });
  expect_usage_error_only([&] { (void)memprobe::harness::parse_family_list(text); });
  expect_usage_error_only([&] { (void)memprobe::harness::parse_counter_list(text); });
  expect_usage_error_only([&] { (void)memprobe::harness::parse_max_working_set(text, std::nullopt); });
  expect_usage_error_only([&] { (void)memprobe::harness::parse_count("--seed", text); });
  expect_usage_error_only([&] { (void)memprobe::harness::parse_max_working_set(text, std::uint64_t{1} << 30); });
  return 0;
}
