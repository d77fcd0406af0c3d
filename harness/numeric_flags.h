// Numeric flags' values, parsed strictly: the value is the number and
// nothing else. CLI11 reads an empty value as 0 (`--fail-on-regression ''`
// gated every figure at 0 %) and core::parse_bytes trims blanks, so every
// numeric flag's text goes through here (or parse_count, which is as strict).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memprobe::harness {

// UsageError "FLAG: 'TEXT' is not EXPECTED" when `text` is empty, only
// blanks, or has a blank at either end.
void require_bare_number_text(std::string_view flag, std::string_view text, std::string_view expected);

// A finite decimal number ("5", "2.5", "1e3", "-1"): the whole text, no
// blank, no sign '+', no trailing unit or garbage ("5x"); UsageError naming
// the flag, the text and `expected` otherwise. Ranges are the caller's.
double parse_decimal(std::string_view flag, std::string_view text, std::string_view expected);

// A CPU list as taskset writes it: "0-3,8" (numbers and ascending ranges,
// comma-separated, no blanks, no empty item), each CPU one of `allowed` (the
// CPUs this process may run on, as `allowed_text` "0-1"). Ascending, without
// duplicates. UsageError in one line otherwise: "FLAG: 'TEXT' is not a CPU
// list ..." or "FLAG: CPU 5 is outside the CPUs this process may run on: 0-1".
std::vector<int> parse_cpu_list(std::string_view flag, std::string_view text, const std::vector<int>& allowed,
                                std::string_view allowed_text);

}  // namespace memprobe::harness
