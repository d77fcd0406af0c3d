// Numeric flags' values, parsed strictly: the value is the number and
// nothing else. CLI11 reads an empty value as 0 (`--fail-on-regression ''`
// gated every figure at 0 %) and core::parse_bytes trims blanks, so every
// numeric flag's text goes through here (or parse_count, which is as strict).
#pragma once

#include <string>
#include <string_view>

namespace memprobe::harness {

// UsageError "FLAG: 'TEXT' is not EXPECTED" when `text` is empty, only
// blanks, or has a blank at either end.
void require_bare_number_text(std::string_view flag, std::string_view text, std::string_view expected);

// A finite decimal number ("5", "2.5", "1e3", "-1"): the whole text, no
// blank, no sign '+', no trailing unit or garbage ("5x"); UsageError naming
// the flag, the text and `expected` otherwise. Ranges are the caller's.
double parse_decimal(std::string_view flag, std::string_view text, std::string_view expected);

}  // namespace memprobe::harness
