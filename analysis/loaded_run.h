// The one way every reader of a results file gets its figures: load and
// validate the file, then derive every figure from its cases with this
// version's analysis. `memprobe report` (and its plots), `compare`, the
// regression gate and `fleet` all read a run through load_run, so they judge
// what was measured, never the conclusions a file stores: the stored
// `derived` section is output for other tools (docs/results-schema.md) and
// is only checked against the fresh derivation, to say where they differ.
#pragma once

#include <string>

#include "analysis/results.h"

namespace memprobe::analysis {

struct LoadedRun {
  Results results;  // derived from its cases; no stored conclusion survives
  // One line when the stored derived section differs from the fresh
  // derivation (an older analysis, an edited file), else empty: "r.json: its
  // stored derived figures (written by memprobe v0.3) differ from this
  // version's derivation from its cases in 4 places, first
  // /derived/cache_levels/1/latency_ns (stored 4.1, derived 5.12); the
  // figures shown are derived from the cases".
  std::string stored_derived_note;
};

// load_results (throws ResultsError, exit status 2), then derive_from_cases.
LoadedRun load_run(const std::string& path);

// Replaces results.derived by what this version derives from results.cases
// (nothing from no cases), returning the note above for `path`.
LoadedRun derive_from_cases(Results results, const std::string& path);

}  // namespace memprobe::analysis
