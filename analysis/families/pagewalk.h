// The pagewalk family: the cost of a page walk per page size, from a chase
// past the L2 DTLB and one on its hit plateau, each against a same-footprint
// reference.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/plots.h"
#include "analysis/results.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {

// Walk cost from the four medians of one page size (cycles per load):
// walk = (tlb - ref at N past the L2 DTLB) - (tlb - ref on the L2-hit plateau).
struct WalkFigures {
  double walk_cycles = 0;         // the walk alone
  double miss_cycles = 0;         // tlb - ref past the L2 DTLB: L1 miss + walk
  double l2_hit_cycles = 0;       // tlb - ref on the L2-hit plateau
};
WalkFigures walk_arithmetic(double walk_tlb, double walk_ref, double l2hit_tlb, double l2hit_ref);

struct PagewalkRow {
  std::string page;
  std::string pte = "warm";             // "warm": consecutive pages; "cold": one PTE line per load
  std::optional<double> cycles;         // walk cost (null without an L2-hit pair)
  std::optional<double> ns;
  std::optional<double> miss_cycles;    // tlb - ref past the L2 DTLB
  std::optional<double> l2_hit_cycles;
  double walk_pages = 0;
  double l2hit_pages = 0;
  bool nested_paging = false;
  std::string note;
};

// From the pagewalk family's cases (role walk / l2hit / reference).
std::vector<PagewalkRow> derive_pagewalk_rows(const Results& results);

// derived.pagewalk (files before the rename: page_walk): one row per
// derive_pagewalk_rows() row; removed without pagewalk cases. Idempotent.
void derive_pagewalk(Results& results);
// The rows of derived.pagewalk.
std::vector<PagewalkRow> pagewalk_rows(const Results& results);

// | page | PTEs | walk cycles | walk ns | L2-hit cycles | miss cycles | walk pages | nested paging |
// from derived.pagewalk; "" without rows.
std::string render_pagewalk_table(const Results& results, TableFormat format = TableFormat::kText);

}  // namespace memprobe::analysis
