// libFuzzer target: bytes -> analysis::parse_results (the text half of
// load_results: nesting bound, JSON parse, every member type-checked) ->
// derive_all and render_report in every format, and the writer.
// A ResultsError is the loader's documented answer to a bad document; any
// other exception escaping, a crash or a sanitizer report is a bug.
//
// Deep and wide documents are out of reach of libFuzzer's input length, so
// a leading byte and a 2-byte count amplify: "D" + count + text puts count*4
// '[' where the text has '@' and as many ']' where it has '#' (nesting far
// beyond the stack); "W" + count + "prefix@unit#suffix" repeats unit count
// times (at most 20,000), comma-separated (a case array of 20,000 cases).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "analysis/loaded_run.h"
#include "analysis/results_json.h"
#include "analysis/tables.h"

namespace {

std::string amplified(const std::uint8_t* data, std::size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  if (size < 3 || (raw[0] != 'D' && raw[0] != 'W')) return raw;
  // Deep: up to 262,140 levels (refused before parsing, so cheap). Wide: up
  // to 20,000 elements, a 6 MB document: wider would spend the fuzzer's
  // time in ASan-instrumented parsing, not in new paths.
  const std::size_t value = std::size_t{data[1]} << 8 | data[2];
  const std::size_t count = raw[0] == 'D' ? value * 4 : std::min<std::size_t>(value, 20000);
  std::string text = raw.substr(3);
  const std::size_t at = text.find('@');
  const std::size_t hash = text.find('#', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || hash == std::string::npos) return text;
  if (raw[0] == 'D') return text.substr(0, at) + std::string(count, '[') + text.substr(at + 1, hash - at - 1) +
                            std::string(count, ']') + text.substr(hash + 1);
  const std::string unit = text.substr(at + 1, hash - at - 1);
  std::string out = text.substr(0, at);
  out.reserve(out.size() + count * (unit.size() + 1) + text.size());
  for (std::size_t i = 0; i < count; ++i) out += (i ? "," : "") + unit;
  return out + text.substr(hash + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = amplified(data, size);
  try {
    memprobe::analysis::Results results = memprobe::analysis::parse_results(text, "fuzz.json");
    // A document that loads must also round-trip through the writer and render.
    (void)memprobe::analysis::to_json(results).dump();
    // Deriving is quadratic in the points of one curve (analysis/knees.cc):
    // a 100,000-case document would take minutes per input, so only
    // documents of a real run's size are derived and rendered.
    if (results.cases.size() > 2000) return 0;
    // The readers' one path: the stored derived section replaced by a fresh derivation.
    results = memprobe::analysis::derive_from_cases(std::move(results), "fuzz.json").results;
    for (auto format : {memprobe::analysis::TableFormat::kText, memprobe::analysis::TableFormat::kMarkdown,
                        memprobe::analysis::TableFormat::kCsv})
      (void)memprobe::analysis::render_report(results, format);
  } catch (const memprobe::analysis::ResultsError&) {
  }
  return 0;
}
