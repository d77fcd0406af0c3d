// How a benchmark case tells the harness what it measured on: Google Benchmark
// carries only doubles in counters, so parameters and backing travel in the
// case's label as space-separated key=value tokens.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/buffer.h"

namespace memprobe::bench {

// {"page":"4k","working_set_bytes":"4096"} -> "page=4k working_set_bytes=4096".
// Values must not contain spaces or '='.
std::string format_case_label(const std::map<std::string, std::string>& fields);
// `fields` with the backing of the case's buffer: backing=<verified>
// huge_fraction=<three decimals>.
std::map<std::string, std::string> with_backing(std::map<std::string, std::string> fields,
                                                const core::Backing& backing);
// The inverse; tokens without '=' are ignored.
std::map<std::string, std::string> parse_case_label(std::string_view label);

}  // namespace memprobe::bench
