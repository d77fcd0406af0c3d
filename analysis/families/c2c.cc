#include "analysis/families/c2c.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "analysis/family.h"
#include "analysis/family_support.h"

namespace memprobe::analysis {

using nlohmann::json;

namespace {

// The groups, closest first (the order of core::PairSharing).
constexpr std::pair<const char*, const char*> kShares[] = {
    {"smt", "same core (SMT)"}, {"l3", "same L3"},           {"other_l3", "other L3"},
    {"socket", "same socket"},  {"other_socket", "other socket"},
};

int shares_rank(const std::string& name) {
  for (std::size_t i = 0; i < std::size(kShares); ++i)
    if (name == kShares[i].second) return static_cast<int>(i);
  return static_cast<int>(std::size(kShares));
}

json to_json(const C2cRow& r) {
  return {{"a_cpu", r.a_cpu}, {"b_cpu", r.b_cpu}, {"shares", r.shares}, {"numa_node", r.numa_node}, {"one_way_ns", r.one_way_ns}};
}

C2cRow row_from_json(const json& row) {
  return {json_number(row, "a_cpu").value_or(0), json_number(row, "b_cpu").value_or(0), json_string(row, "shares"),
          json_string(row, "numa_node"), json_number(row, "one_way_ns").value_or(0)};
}

json group_to_json(const C2cGroupRow& r) {
  return {{"shares", r.shares},
          {"pairs_measured", r.pairs_measured},
          {"pairs_total", r.pairs_total},
          {"one_way_ns", r.one_way_ns}};
}

C2cGroupRow group_from_json(const json& row) {
  return {json_string(row, "shares"), json_number(row, "pairs_measured").value_or(0),
          json_number(row, "pairs_total").value_or(0), json_number(row, "one_way_ns").value_or(0)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string cpu_label(double cpu) { return fmt::format("{:.0f}", cpu); }

}  // namespace

std::string c2c_shares_name(const std::string& key) {
  for (const auto& [k, name] : kShares)
    if (key == k) return name;
  return "unknown";
}

void derive_c2c(Results& results) {
  std::map<std::pair<double, double>, C2cRow> by_pair;
  std::map<std::string, double> group_total;  // shares -> ordered pairs of the group (case param)
  for (const Case& c : results.cases) {
    if (c.family != "c2c") continue;
    const auto a = param_number(c, "a_cpu");
    const auto b = param_number(c, "b_cpu");
    const auto ns = metric(c, "one_way_ns");
    if (!a || !b || !ns || !std::isfinite(*ns)) continue;
    const std::string shares = c2c_shares_name(param_text(c.params, "shares"));
    const std::string numa = param_text(c.params, "numa");  // "same", "other", "unknown"
    by_pair[{*a, *b}] = {*a, *b, shares, numa == "same" || numa == "other" ? numa + " node" : "unknown", *ns};
    group_total[shares] = std::max(group_total[shares], param_number(c, "group_pairs").value_or(0));
  }
  std::vector<C2cRow> rows;
  std::map<std::string, std::vector<double>> by_group;
  for (const auto& [pair, row] : by_pair) {
    rows.push_back(row);
    by_group[row.shares].push_back(row.one_way_ns);
  }
  std::vector<C2cGroupRow> groups;
  for (const auto& [shares, values] : by_group) {
    const double measured = static_cast<double>(values.size());
    groups.push_back({shares, measured, std::max(measured, group_total[shares]), median(values)});
  }
  std::stable_sort(groups.begin(), groups.end(), [](const C2cGroupRow& x, const C2cGroupRow& y) {
    return shares_rank(x.shares) < shares_rank(y.shares);
  });
  store_rows(results, "c2c", rows, to_json);
  store_rows(results, "c2c_groups", groups, group_to_json);
}

std::vector<C2cRow> c2c_rows(const Results& results) { return load_rows(results, "c2c", row_from_json); }

std::vector<C2cGroupRow> c2c_group_rows(const Results& results) {
  return load_rows(results, "c2c_groups", group_from_json);
}

std::string c2c_group_line(const Results& results) {
  std::string line;
  for (const C2cGroupRow& g : c2c_group_rows(results))
    line += fmt::format("{}{} {} ns", line.empty() ? "" : ", ", g.shares, format_ns(g.one_way_ns));
  return line;
}

namespace {

// The CPUs of the measured pairs, ascending, and each ordered pair's one-way
// ns: what the table and the heat map both draw.
struct PairMatrix {
  std::vector<double> cpus;
  std::map<std::pair<double, double>, double> one_way_ns;
};
PairMatrix pair_matrix(const std::vector<C2cRow>& pairs) {
  PairMatrix m;
  for (const C2cRow& r : pairs) {
    m.cpus.push_back(r.a_cpu);
    m.cpus.push_back(r.b_cpu);
    m.one_way_ns[{r.a_cpu, r.b_cpu}] = r.one_way_ns;
  }
  std::sort(m.cpus.begin(), m.cpus.end());
  m.cpus.erase(std::unique(m.cpus.begin(), m.cpus.end()), m.cpus.end());
  return m;
}

}  // namespace

std::string render_c2c_table(const Results& results, TableFormat format) {
  const std::vector<C2cRow> pairs = c2c_rows(results);
  const std::vector<C2cGroupRow> groups = c2c_group_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "c2c");
  if (pairs.empty() && unavailable.empty()) return "";
  std::string out = note_line(
      "Core-to-core latency: one-way ns of a cache line handed from CPU (row) to CPU (column); two pinned threads "
      "ping-pong it, one way = half the round trip",
      format);
  if (!pairs.empty()) {
    const auto [cpus, ns] = pair_matrix(pairs);
    std::vector<Column> columns = {{"from \\ to", false}};
    for (const double b : cpus) columns.push_back({"cpu " + cpu_label(b), true});
    std::vector<std::vector<std::string>> rows;
    for (const double a : cpus) {
      std::vector<std::string> row = {"cpu " + cpu_label(a)};
      for (const double b : cpus) {
        const auto it = ns.find({a, b});
        row.push_back(it == ns.end() ? std::string(kMissing) : format_ns(it->second));
      }
      rows.push_back(std::move(row));
    }
    out += render_table(columns, rows, format);

    std::vector<std::vector<std::string>> group_cells;
    double measured = 0, total = 0;
    for (const C2cGroupRow& g : groups) {
      group_cells.push_back({g.shares, fmt::format("{:.0f} of {:.0f}", g.pairs_measured, g.pairs_total),
                             format_ns(g.one_way_ns)});
      measured += g.pairs_measured;
      total += g.pairs_total;
    }
    out += render_table({{"pair shares", false}, {"pairs measured", true}, {"one-way ns (median)", true}},
                        group_cells, format);
    out += note_line("c2c by what the pair shares: " + c2c_group_line(results), format);
    if (measured < total)
      out += note_line(fmt::format("Sampled: {:.0f} of {:.0f} ordered pairs measured (every same-core pair, an evenly "
                                   "spaced sample of each other group); — marks a pair not measured",
                                   measured, total),
                       format);
  }
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

namespace {

std::vector<SummaryLine> c2c_summary(const Results& results) {
  const std::string line = c2c_group_line(results);
  if (line.empty()) return {};
  return {{45, "core-to-core one-way", line}};
}

}  // namespace

std::vector<Plot> c2c_plots(const Results& results) {
  const std::vector<C2cRow> pairs = c2c_rows(results);
  if (pairs.empty()) return {};
  const auto [cpus, ns] = pair_matrix(pairs);
  // Matrix data: row i = from cpus[i], column j = to cpus[j]; NaN (not
  // drawn) on the diagonal and where a pair was not measured. The y range
  // runs downwards, so the picture reads like the table (row 0 on top).
  std::string block = "$c2c << EOD\n";
  for (const double a : cpus) {
    for (std::size_t j = 0; j < cpus.size(); ++j) {
      const auto it = ns.find({a, cpus[j]});
      block += (j ? " " : "") + (it == ns.end() ? std::string("NaN") : fmt::format("{:.3f}", it->second));
    }
    block += "\n";
  }
  block += "EOD\n";
  std::string tics;
  // At most ~32 labels per axis: every k-th CPU on a big machine.
  const std::size_t step = std::max<std::size_t>(1, (cpus.size() + 31) / 32);
  for (std::size_t i = 0; i < cpus.size(); i += step)
    tics += fmt::format("{}'{}' {}", tics.empty() ? "" : ", ", cpu_label(cpus[i]), i);
  const std::string commands = fmt::format(
      "{}set title {}\nset xlabel 'to CPU'\nset ylabel 'from CPU'\nset cblabel 'one-way ns'\n"
      "set xtics ({})\nset ytics ({})\nset yrange [{}.5:-0.5]\nset xrange [-0.5:{}.5]\n"
      "set palette rgbformulae 33,13,10\nset size ratio -1\n"
      "plot $c2c matrix with image notitle\n",
      block, gnuplot_quote("core-to-core one-way latency, " + plot_title_of(results)), tics, tics, cpus.size() - 1,
      cpus.size() - 1);
  return {{"c2c", with_outputs("c2c", commands),
           "core-to-core one-way latency heat map (ns): a cache line handed from the row's CPU to the column's"}};
}

namespace {

std::optional<double> c2c_median_ns(const Results& results) {
  std::vector<double> v;
  for (const C2cRow& r : c2c_rows(results)) v.push_back(r.one_way_ns);
  if (v.empty()) return std::nullopt;
  return median(v);
}

}  // namespace

FamilyDescriptor describe_c2c() {
  return {.name = "c2c", .run_rank = 8, .report_rank = 9, .tables = {{"c2c"}, {"c2c_groups"}},
          .headline_metrics = {"one_way_ns"}, .derive = derive_c2c, .render = render_c2c_table,
          .summary = c2c_summary, .plots = c2c_plots,
          .fleet_columns = {{"c2c ns", "latency_ns", false, c2c_median_ns}}};
}

}  // namespace memprobe::analysis
