// Results <-> JSON (schema memprobe/1) and the atomic results-file write.
#pragma once

#include <stdexcept>
#include <string>

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

nlohmann::json to_json(const Results& results);
// Throws ResultsError on a missing/mistyped required member or wrong schema.
Results results_from_json(const nlohmann::json& document);

// Reads and validates a results file. Throws ResultsError (unreadable, empty,
// not JSON, truncated, wrong schema).
Results load_results(const std::string& path);

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
