// The latency family: a dependent chase over a random cycle per working set
// and page policy. Its derived figures are the cache levels (typed,
// results.derived.cache_levels: detected size and plateau latency per level,
// DRAM) and derived.latency_curve_page (which curve they came from).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/knees.h"
#include "analysis/levels.h"
#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// The latency curve of one page policy: (working_set_bytes, median ns_per_load)
// for each successful case of family "latency" with params.page == page.
std::vector<CurvePoint> latency_curve(const Results& results, const std::string& page);

// The DRAM plateau (find_dram_plateau) of `page`'s latency curve, with the
// count of reported data cache levels as its floor: the rule the harness
// ends the latency sweep with. nullopt: no latency cases, or no DRAM yet.
std::optional<DramPlateau> latency_dram_plateau(const Results& results, const std::string& page);

// A DRAM plateau another curve located needs to span this many octaves.
inline constexpr double kLocatedDramMinOctaves = 1.0;

// `page`'s DRAM plateau by the DRAM rule over kLocatedDramMinOctaves instead
// of DramPlateauRule::min_octaves, when it starts within a factor of 2 of
// where `shown_elsewhere` (another curve's DRAM plateau) starts.
std::optional<DramPlateau> latency_dram_plateau_located(const Results& results, const std::string& page,
                                                        const DramPlateau& shown_elsewhere);

// The DRAM plateau the cache table reads on `page`'s curve: the one the
// curve showed itself (latency_dram_plateau), else one another verified
// curve located (latency_dram_plateau_located), said in located_by. Every
// policy's curve covers the range the first policy's sweep grew to, and that
// sweep stops as soon as its own curve has spanned DramPlateauRule::min_octaves
// of DRAM: a huge-page curve, whose DRAM plateau starts later (no translation
// cost rising into it), can then span less.
struct TableDram {
  DramPlateau plateau;
  std::string located_by;  // "DRAM plateau located by the 4k curve, ..."; empty: shown by this curve
};
std::optional<TableDram> table_dram_plateau(const Results& results, const std::string& page);

// The page policies (params.page) of the latency cases: "4k", "thp",
// "hugetlb-2m", "hugetlb-1g" in that order, then any other, sorted.
std::vector<std::string> latency_pages(const Results& results);

// True if every latency case of `page` has backing.verified equal to
// backing.requested (THP: verified "thp", not "mixed"); false if there are none.
bool backing_verified(const Results& results, const std::string& page);

// The pages whose latency backing was verified, in latency_pages() order.
std::vector<std::string> verified_latency_pages(const Results& results);

// Which policy's latency curve the cache table should use: among the curves
// whose backing was verified (and of those, the ones that showed a DRAM
// plateau, latency_dram_plateau, when any did), the lowest one (geometric mean of ns per load
// over the working sets all of them measured), since a failure of either
// TLB-clean method (guest huge pages split by the host, page groups beyond
// the TLB) only adds latency; within 3 % huge pages win (hugetlb-2m, thp,
// hugetlb-1g, then 4k). With none verified, "4k"; with one curve, that one.
// Empty if no latency cases.
std::string preferred_latency_page(const Results& results);

// L1, L2, ..., LLC and DRAM rows: reported size from machine.caches, detected
// size from the curve's knees (matched to the nearest reported level on the log
// axis), plateau latency in ns and cycles (ns * machine.core_hz), spread, and a
// note where detected and reported differ by more than 1.5x or no knee was found.
// Rules: the curve is preferred_latency_page()'s.
//  - Knees: if the sweep reached 2x the largest reported cache, the knee into
//    the last plateau (DRAM) belongs to the last cache level when it lies
//    below 2x that level's reported size, however far below (a VM guest may
//    see a fraction of the host's L3). Every other knee goes to a reported
//    level within a factor of 4 (each level at most one knee, order kept,
//    most matches, then least log2 distance).
//  - A level with a knee: detected size = the knee; latency = the first
//    plateau below its knee and above the level before (that level's knee,
//    else its reported size), with a note if more plateaus lie under the
//    same knee (latency creeping up before capacity).
//  - A level without a knee: latency = median of the points in (previous
//    reported size, reported size / 2], noted.
//  - DRAM = the last plateau, only if the sweep reached 2x the largest
//    reported cache and the curve has a step; otherwise a note says why.
//  - spread_pct = the median over the plateau's cases of (max - min) / median
//    of each case's repetitions, in %, over the cases on that plateau (or
//    those points).
std::vector<CacheLevelRow> derive_cache_levels(const Results& results);

// derived.cache_levels = derive_cache_levels() and derived.latency_curve_page =
// preferred_latency_page() (removed without latency cases). Idempotent.
void derive_latency(Results& results);

// | level | reported | detected | latency ns | latency cycles | spread | (+ notes),
// from derived.cache_levels and derived.latency_curve_page only (call
// derive_latency, or derive_all, first); "" when no row has a measured figure.
std::string render_cache_table(const Results& results, TableFormat format = TableFormat::kText);

// Per working set: ns/load and cycles/load for each page policy measured.
std::string render_latency_curve(const Results& results, TableFormat format = TableFormat::kText);

// Each counter per load at one representative working set per cache level
// (latency curve of preferred_latency_page); "n/a (no PMU)" where the event
// could not be opened for lack of a PMU. Empty if no counters were recorded.
std::string render_counter_table(const Results& results, TableFormat format = TableFormat::kText);

// Latency vs working set (log2 x, log y), one line per page policy, reported
// cache sizes as dashed verticals and detected knees as labelled points.
// Nothing when there are no latency cases.
std::vector<Plot> latency_plots(const Results& results);

}  // namespace memprobe::analysis
