// --max-working-set (CaseOptions::max_working_set_bytes): the largest working
// set any case uses. The latency sweep ends exactly there; every other family
// caps its own default with it (never grows it), and a case the cap would make
// meaningless (a DRAM point that no longer leaves the caches) is registered as
// skipped with the reason, so the results say what was left out and why.
#pragma once

#include <cstdint>
#include <string>

#include "benchmarks/family.h"

namespace memprobe::bench {

// The latency sweep's top without --max-working-set: 8x the last-level cache
// (4x with --quick), at least 64 MiB; 256 MiB when the LLC is unknown (0).
std::uint64_t default_max_working_set_bytes(std::uint64_t llc_bytes, bool quick);

// min(default_bytes, the cap); default_bytes when there is no cap.
std::uint64_t capped_working_set(std::uint64_t default_bytes, const CaseOptions& options);

// Rounds a capped size down to a multiple of granule_bytes when it is at
// least one granule (whole 2 MiB pages for the THP-backed families), else
// leaves it as it is (it is a whole number of 4 KiB pages: the harness checks).
std::uint64_t round_down_within_cap(std::uint64_t bytes, std::uint64_t granule_bytes);

// The reason a case left out by the cap carries: "skipped: <what> needs a
// working set of at least <needed>; --max-working-set is <cap>".
std::string cap_skip_reason(const std::string& what, std::uint64_t needed_bytes, const CaseOptions& options);

// The working set of a family that chases through DRAM (mlp, loaded): 8x the
// LLC (256 MiB when unknown), at least 64 MiB, in whole 2 MiB pages, capped by
// --max-working-set. skip_reason is set (cap_skip_reason, naming `what`) when
// the cap keeps it within twice the LLC: then there is no DRAM figure.
struct DramChaseWorkingSet {
  std::uint64_t bytes = 0;
  std::string skip_reason;  // empty: measure
};
DramChaseWorkingSet dram_chase_working_set(std::uint64_t llc_bytes, const CaseOptions& options,
                                           const std::string& what);

// The data cache sizes a family sizes its working sets from, innermost
// first: each level's measured capacity (CaseOptions::measured) where the
// run has one, else the reported size. sizing_llc_bytes: the last of them,
// 0 when there is none.
std::vector<std::uint64_t> sizing_cache_bytes(const core::Machine& machine, const CaseOptions& options);
std::uint64_t sizing_llc_bytes(const core::Machine& machine, const CaseOptions& options);
// "measured" or "reported": where sizing_llc_bytes came from (case labels say it).
std::string sizing_source(const CaseOptions& options);

}  // namespace memprobe::bench
