#include "analysis/families/numa.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "analysis/family_support.h"

namespace memprobe::analysis {

using nlohmann::json;

namespace {

json to_json(const NumaRow& r) {
  json row = {{"cpu_node", r.cpu_node},
              {"mem_node", r.mem_node},
              {"ns_per_load", json_opt(r.ns_per_load)},
              {"gb_per_s", json_opt(r.gb_per_s)}};
  if (!r.note.empty()) row["note"] = r.note;
  return row;
}

NumaRow numa_row_from_json(const json& row) {
  NumaRow r{json_number(row, "cpu_node").value_or(0), json_number(row, "mem_node").value_or(0),
            json_number(row, "ns_per_load"), json_number(row, "gb_per_s"), {}};
  if (const auto it = row.find("note"); it != row.end() && it->is_string()) r.note = it->get<std::string>();
  return r;
}

struct PairName {
  std::string kind;  // "latency", "read_bw"
  double cpu_node = 0;
  double mem_node = 0;
};

// "numa/latency/cpu_node:0/mem_node:1" -> {latency, 0, 1}.
std::optional<PairName> parse_pair_name(const std::string& name) {
  unsigned cpu = 0, mem = 0;
  char kind[32] = {};
  if (std::sscanf(name.c_str(), "numa/%31[^/]/cpu_node:%u/mem_node:%u", kind, &cpu, &mem) != 3) return std::nullopt;
  return PairName{kind, static_cast<double>(cpu), static_cast<double>(mem)};
}

std::optional<double> finite_positive(std::optional<double> v) {
  return v && std::isfinite(*v) && *v > 0 ? v : std::nullopt;
}

using Matrix = std::map<std::pair<double, double>, NumaRow>;

std::vector<double> nodes_of(const std::vector<NumaRow>& rows) {
  std::set<double> nodes;
  for (const NumaRow& r : rows) {
    nodes.insert(r.cpu_node);
    nodes.insert(r.mem_node);
  }
  return {nodes.begin(), nodes.end()};
}

std::string render_matrix(const std::vector<NumaRow>& rows, const std::string& title,
                          std::optional<double> NumaRow::*figure, std::string (*format_cell)(double),
                          TableFormat format) {
  const std::vector<double> nodes = nodes_of(rows);
  Matrix by_pair;
  for (const NumaRow& r : rows) by_pair[{r.cpu_node, r.mem_node}] = r;
  std::vector<Column> columns = {{"CPU node \\ memory node", false}};
  for (const double n : nodes) columns.push_back({fmt::format("node {:.0f}", n), true});
  std::vector<std::vector<std::string>> cells;
  for (const double cpu : nodes) {
    std::vector<std::string> line = {fmt::format("node {:.0f}", cpu)};
    bool any = false;
    for (const double mem : nodes) {
      const auto it = by_pair.find({cpu, mem});
      if (it == by_pair.end()) {
        line.push_back(std::string(kMissing));
        continue;
      }
      any = true;
      const std::optional<double>& v = it->second.*figure;
      line.push_back(v ? format_cell(*v) : std::string("n/a"));
    }
    if (any) cells.push_back(std::move(line));
  }
  return note_line(title, format) + render_table(columns, cells, format);
}

std::string gbps_cell(double v) { return format_gbps(v); }

// The local figures (cpu node = memory node) and the remote ones.
struct LocalRemote {
  std::vector<double> local, remote;
};
LocalRemote split(const std::vector<NumaRow>& rows, std::optional<double> NumaRow::*figure) {
  LocalRemote out;
  for (const NumaRow& r : rows)
    if (const std::optional<double>& v = r.*figure; v) (r.cpu_node == r.mem_node ? out.local : out.remote).push_back(*v);
  return out;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (const double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

}  // namespace

void derive_numa(Results& results) {
  Matrix by_pair;
  std::optional<double> nodes_with_memory;
  const auto row_of = [&](double cpu, double mem) -> NumaRow& {
    NumaRow& r = by_pair[{cpu, mem}];
    r.cpu_node = cpu;
    r.mem_node = mem;
    return r;
  };
  for (const Case& c : results.cases) {
    if (c.family != "numa") continue;
    const auto name = parse_pair_name(c.name);
    const auto cpu = param_number(c, "cpu_node");
    const auto mem = param_number(c, "mem_node");
    if (!name || !cpu || !mem) continue;
    if (const auto n = param_number(c, "nodes_with_memory")) nodes_with_memory = *n;
    NumaRow& r = row_of(*cpu, *mem);
    if (name->kind == "latency") r.ns_per_load = finite_positive(metric(c, "ns_per_load"));
    if (name->kind == "read_bw") r.gb_per_s = finite_positive(metric(c, "gb_per_s"));
  }
  for (const UnavailableFigure& u : results.unavailable)
    if (const auto name = parse_pair_name(u.what)) row_of(name->cpu_node, name->mem_node);
  std::vector<NumaRow> rows;
  for (auto& [pair, row] : by_pair) rows.push_back(row);
  const std::size_t nodes = nodes_of(rows).size();
  std::string note;
  if (!rows.empty() && nodes <= 1)
    note = nodes_with_memory && *nodes_with_memory <= 1
               ? "one NUMA node: hwloc reports 1 node with memory; the matrix is 1x1"
               : "one NUMA node measured (of the nodes named): the matrix is 1x1";
  for (NumaRow& r : rows) r.note = note;
  store_rows(results, "numa", rows, to_json);
}

std::vector<NumaRow> numa_rows(const Results& results) { return load_rows(results, "numa", numa_row_from_json); }

std::string render_numa_tables(const Results& results, TableFormat format) {
  const std::vector<NumaRow> rows = numa_rows(results);
  const std::vector<std::string> unavailable = unavailable_of(results, "numa");
  if (rows.empty() && unavailable.empty()) return "";
  std::string out;
  if (!rows.empty()) {
    out += render_matrix(rows,
                         "NUMA latency matrix: ns per dependent load, TLB-local random chase over a DRAM-sized "
                         "set bound to the memory node (rows: CPU node, columns: memory node)",
                         &NumaRow::ns_per_load, format_ns, format);
    out += render_matrix(rows,
                         "NUMA read bandwidth matrix: GB/s, every allowed CPU of the CPU node reading memory bound to "
                         "the memory node",
                         &NumaRow::gb_per_s, gbps_cell, format);
    if (!rows.front().note.empty()) out += note_line(rows.front().note, format);
  }
  for (const std::string& u : unavailable) out += note_line(u, format);
  return out;
}

std::vector<SummaryLine> numa_summary(const Results& results) {
  const std::vector<NumaRow> rows = numa_rows(results);
  if (rows.empty()) return {};
  const LocalRemote ns = split(rows, &NumaRow::ns_per_load);
  const LocalRemote gb = split(rows, &NumaRow::gb_per_s);
  if (ns.local.empty() && gb.local.empty() && ns.remote.empty() && gb.remote.empty())
    return {{45, "NUMA", "no pair measured (see the numa section)"}};
  const auto figure = [](const LocalRemote& lr, const char* what, const char* unit, const char* format_spec) {
    const auto value = [&](double v) { return fmt::format(fmt::runtime(format_spec), v) + unit; };
    std::string part;
    if (!lr.local.empty()) part = fmt::format("{} local {}", what, value(mean(lr.local)));
    if (!lr.remote.empty()) {
      part += fmt::format("{}remote {}", part.empty() ? std::string(what) + " " : ", ", value(mean(lr.remote)));
      if (!lr.local.empty() && mean(lr.local) > 0)
        part += fmt::format(" ({})", format_times(mean(lr.remote) / mean(lr.local)));
    }
    return part;
  };
  std::string text = figure(ns, "latency", " ns", "{:.1f}");
  const std::string bandwidth = figure(gb, "read", " GB/s", "{:.2f}");
  if (!bandwidth.empty()) text += (text.empty() ? "" : "; ") + bandwidth;
  if (nodes_of(rows).size() <= 1) text += " (1x1 matrix: one node)";
  return {{45, "NUMA", text}};
}

namespace {

std::optional<double> local_of(const Results& results, std::optional<double> NumaRow::*figure) {
  const LocalRemote lr = split(numa_rows(results), figure);
  return lr.local.empty() ? std::nullopt : std::optional<double>(mean(lr.local));
}

}  // namespace

FamilyDescriptor describe_numa() {
  FamilyDescriptor f;
  f.name = "numa";
  f.run_rank = 8;
  f.report_rank = 9;
  f.tables = {{"numa"}};
  f.headline_metrics = {"ns_per_load", "gb_per_s"};
  f.derive = derive_numa;
  f.render = render_numa_tables;
  f.summary = numa_summary;
  f.fleet_columns = {
      {"NUMA local ns", "ns_per_load", false,
       [](const Results& r) { return local_of(r, &NumaRow::ns_per_load); }},
      {"NUMA local GB/s", "gb_per_s", false, [](const Results& r) { return local_of(r, &NumaRow::gb_per_s); }},
  };
  return f;
}

}  // namespace memprobe::analysis
