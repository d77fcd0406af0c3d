// Results <-> JSON (schema memprobe/1) and the atomic results-file write.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "analysis/results.h"

namespace memprobe::analysis {

// A results file that cannot be used: the message is one line naming the
// file and the problem ("r.json: not a memprobe results file (schema
// 'foo/2', expected 'memprobe/1')").
class ResultsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The largest results file load_results reads (a full run writes about
// 0.5 MiB) and the deepest nesting of arrays and objects it accepts (the
// schema nests 4 deep): anything larger or deeper is refused before parsing.
inline constexpr std::size_t kMaxResultsFileBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxResultsNesting = 64;

nlohmann::json to_json(const Results& results);
// Throws ResultsError on a missing or mistyped member, an integer out of its
// range or a wrong schema: one line naming the member by its JSON pointer
// ("/cases/12/params/page: expected a string"). A metric or counter stored as
// null (a non-finite value) is left out: it reads as missing.
Results results_from_json(const nlohmann::json& document);

// Reads and validates a results file. Throws ResultsError, one line naming the
// file: unreadable, not a regular file (FIFO, device, directory: refused
// without reading), larger than kMaxResultsFileBytes, nested deeper than
// kMaxResultsNesting, empty, not JSON, truncated, or as results_from_json.
Results load_results(const std::string& path);

// The text half of load_results: `text` is the content of the file named
// `path` (used in the messages only).
Results parse_results(std::string_view text, const std::string& path);

// Writes `text` to atomic_write_temp_path(path), fsyncs, renames over path:
// a reader never sees a half-written file and a failed write leaves the old
// file intact and no temporary file. Signals are held (blocked) while it
// runs. Replaces only a regular file (or creates one). Throws
// std::system_error ("cannot write r.json.tmp.42: No space left on device").
void write_text_atomic(const std::string& path, const std::string& text);
// "<path>.tmp.<pid>": the temporary name write_text_atomic uses.
std::string atomic_write_temp_path(const std::string& path);
// write_text_atomic of the results as JSON.
void write_results_atomic(const std::string& path, const Results& results);

}  // namespace memprobe::analysis
