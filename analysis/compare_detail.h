// Internal to `memprobe compare` (analysis/compare*.cc): the noise model
// shared by the figure tables (compare.cc), the verdict (compare_noise.cc)
// and the rendering (compare_render.cc). Not an interface for other code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/compare.h"

namespace memprobe::analysis::compare_detail {

// A point: no interval.
Measured point(double value);

// The distinct values of a numeric parameter over a family's cases (those
// whose `filter_member` is `filter_value`, when given), ascending: the sweep grid.
std::vector<double> sweep_grid(const Results& r, std::string_view family, const char* parameter,
                               const char* filter_member = nullptr, const std::string& filter_value = {});

// The sweep's resolution at `value`: the larger ratio to its neighbours when
// `value` is a grid point (a knee is one), else 4 points per octave.
double grid_step_at(const std::vector<double>& grid, double value);

// A detected size: half a grid step either way.
Measured grid_point(double value, double step);

// A value whose repetitions spread by `spread_pct`: value ± spread.
Measured spread_interval(double value, double spread_pct);

// The typical within-run spread of a family's cases (of `page` where cases of
// that page policy exist), %; nullopt without such cases.
std::optional<double> family_spread_pct(const Results& r, std::string_view family, const std::string& page);

// A case's (max - min) / median, %, where it has repetitions.
std::optional<double> case_spread_pct(const Case& c);

// The case's value of `metric` with its interval: the repetitions' [min, max]
// when the spread describes this metric, else a point.
std::optional<Measured> case_measured(const Case& c, const std::string& metric);

// Plain number without scientific notation (compare_render.cc).
std::string format_number(double value);

}  // namespace memprobe::analysis::compare_detail
