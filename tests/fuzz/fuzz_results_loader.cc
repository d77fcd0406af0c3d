// libFuzzer target: bytes -> JSON -> analysis::results_from_json.
// A ResultsError is the loader's documented answer to a bad document; any
// other exception escaping, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "analysis/results_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json document = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  try {
    const memprobe::analysis::Results results = memprobe::analysis::results_from_json(document);
    // A document that loads must also round-trip through the writer.
    (void)memprobe::analysis::to_json(results);
  } catch (const memprobe::analysis::ResultsError&) {
  }
  return 0;
}
