#include "analysis/tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "analysis/derived.h"
#include "analysis/table_format.h"
#include "analysis/bandwidth.h"
#include "analysis/hugepage.h"
#include "analysis/tlb.h"

namespace memprobe::analysis {
namespace {


// Header values come from the results file (cpu_model, kernel, command):
// escaped, so a file cannot forge a header line or steer the terminal.
std::string header_line(const char* label, const std::string& text) {
  return fmt::format("{:<11}{}\n", label, escape_control(text));
}

// The machine header as a block: verbatim text, a fenced block in Markdown,
// "# " comments in CSV.
std::string format_block(const std::string& text, TableFormat format) {
  if (format == TableFormat::kMarkdown) return "```\n" + text + "```\n";
  if (format == TableFormat::kText) return text;
  std::string out;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
    out += note_line(text.substr(start, end - start), format);
  return out;
}

// Cycles with one decimal (or_missing prints a non-finite value as missing).
std::string format_cycles(double cycles) { return fmt::format("{:.1f}", cycles); }

std::string core_clock_source(const std::string& source) {
  if (source == "calibrated") return "calibrated: dependent-add chain";
  if (source == "pmu") return "PMU cycles";
  return source;
}

// The summary's "huge pages" row: the DRAM-sized sentence. When the huge-page
// family ran without a DRAM-sized point (a small --max-working-set), the row
// says so instead of vanishing; empty only when the family was not run.
std::string hugepage_summary_line(const Results& results) {
  for (const std::string& sentence : hugepage_summary(results))
    if (sentence.rfind("DRAM", 0) == 0) return sentence;
  double largest_bytes = 0;
  bool ran = false;
  for (const Case& c : results.cases) {
    if (c.family != "hugepage") continue;
    ran = true;
    largest_bytes = std::max(largest_bytes, json_number(c.params, "working_set_bytes").value_or(0));
  }
  for (const UnavailableFigure& u : results.unavailable) ran = ran || u.what.rfind("hugepage/", 0) == 0;
  if (!ran) return {};
  if (largest_bytes > 0)
    return fmt::format("no DRAM-sized point measured (largest working set {}; a larger --max-working-set reaches "
                       "DRAM)",
                       format_bytes(largest_bytes));
  return "no point measured (see unavailable)";
}

}  // namespace

std::string render_machine_header(const Results& results, TableFormat format) {
  const MachineInfo& m = results.machine;
  std::string out;
  if (!results.started_at.empty() || !results.git.empty()) {
    std::string run = results.started_at.empty() ? "" : results.started_at;
    if (!results.git.empty()) run += (run.empty() ? "" : ", ") + std::string("git ") + results.git;
    out += header_line("run", run);
  }
  if (!results.command.empty()) out += header_line("command", results.command);

  std::string cpu = m.cpu_model.empty() ? "unknown" : m.cpu_model;
  if (!m.vendor.empty()) cpu += fmt::format(" ({})", m.vendor);
  cpu += fmt::format(", {} logical CPU{}", m.logical_cpus, m.logical_cpus == 1 ? "" : "s");
  cpu += m.hypervisor ? fmt::format(", hypervisor {}", *m.hypervisor) : std::string(", no hypervisor detected");
  out += header_line("CPU", cpu);
  out += header_line("kernel", m.kernel.empty() ? "unknown" : m.kernel);

  std::string clocks = m.tsc_hz > 0 ? fmt::format("TSC {:.3f} GHz", m.tsc_hz / 1e9) : "TSC unknown";
  if (m.core_hz > 0) {
    clocks += fmt::format(", core {:.2f} GHz", m.core_hz / 1e9);
    if (!m.core_hz_source.empty()) clocks += fmt::format(" ({})", core_clock_source(m.core_hz_source));
  } else {
    clocks += ", core clock unknown";
  }
  out += header_line("clocks", clocks);

  std::vector<CacheInfo> caches = m.caches;
  std::stable_sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
    return a.level != b.level ? a.level < b.level : a.kind < b.kind;
  });
  std::string cache_text;
  for (const CacheInfo& c : caches) {
    std::string name = fmt::format("L{}", c.level);
    if (c.kind == "data")
      name += "d";
    else if (c.kind == "instruction")
      name += "i";
    std::string text = fmt::format("{} {}", name, format_bytes(c.size_bytes));
    if (c.ways > 0)
      text += fmt::format(" {}-way", c.ways);
    else if (c.ways < 0)
      text += " fully associative";
    if (c.line_bytes > 0) text += fmt::format(" {} B lines", c.line_bytes);
    cache_text += (cache_text.empty() ? "" : " | ") + text;
  }
  out += header_line("caches", cache_text.empty() ? "unknown" : cache_text);

  std::string tlb_text;
  for (const TlbInfo& t : m.tlb) {
    const std::string entries = t.entries ? fmt::format("{} entries", *t.entries) : std::string("unknown");
    tlb_text += fmt::format("{}L{} {} {}", tlb_text.empty() ? "" : ", ", t.level, page_label(t.page_bytes), entries);
  }
  out += header_line("TLB", tlb_text.empty() ? "unknown" : tlb_text + " (CPUID)");

  out += header_line("THP", fmt::format("enabled={} defrag={}", m.thp_enabled.empty() ? "unknown" : m.thp_enabled,
                                        m.thp_defrag.empty() ? "unknown" : m.thp_defrag));
  out += header_line("hugetlb", fmt::format("2 MiB pool {} pages, 1 GiB pool {} pages", m.hugepages_2m_reserved,
                                            m.hugepages_1g_reserved));
  out += header_line("PMU", m.pmu_available ? std::string("available")
                                            : "unavailable" + (m.pmu_reason.empty() ? "" : ": " + m.pmu_reason));
  if (const std::string counters = counters_summary(results); !counters.empty()) out += header_line("counters", counters);
  // Files from before --max-working-set have neither member: no line.
  if (const auto it = results.extra.find("max_working_set_bytes");
      it != results.extra.end() && it->is_number_unsigned()) {
    const std::string size = format_bytes(it->get<std::uint64_t>());
    const auto source = results.extra.find("max_working_set_source");
    const std::string from = source != results.extra.end() && source->is_string() ? source->get<std::string>() : "";
    out += header_line("memory", from == "default"
                                     ? fmt::format("working sets: the latency sweep grows until its curve shows "
                                                   "DRAM, at most {} (8x the reported LLC, 4x with --quick; "
                                                   "--max-working-set caps every family)",
                                                   size)
                                     : fmt::format("working sets at most {}{}", size,
                                                   from.empty() ? "" : fmt::format(" ({})", from)));
  }
  // Written after the sweep: where it ended and why (files since the growing sweep).
  if (const auto it = results.extra.find("latency_sweep"); it != results.extra.end() && it->is_object() &&
                                                           it->value("up_to_bytes", nlohmann::json()).is_number() &&
                                                           it->value("end_reason", nlohmann::json()).is_string())
    out += header_line("sweep", fmt::format("latency to {}: {}", format_bytes((*it)["up_to_bytes"].get<double>()),
                                            (*it)["end_reason"].get<std::string>()));
  if (results.extra.value("interrupted", false))
    out += header_line("INCOMPLETE", fmt::format("the run was interrupted: {} cases completed", results.cases.size()));
  return format_block(out, format);
}

std::string counters_summary(const Results& results) {
  const auto it = results.extra.find("counters");
  if (it == results.extra.end() || !it->is_array() || it->empty()) return {};
  std::string software, hardware;
  std::size_t hardware_total = 0, hardware_open = 0;
  for (const auto& c : *it) {
    const bool available = c.value("available", false);
    if (c.value("software", false)) {
      if (available) software += (software.empty() ? "" : ", ") + c.value("event", std::string());
    } else {
      ++hardware_total;
      hardware_open += available;
    }
  }
  // Without a PMU the default hardware events are not even tried (memprobe
  // counters lists them as unavailable): say so, not "none requested".
  if (hardware_total == 0) hardware = results.machine.pmu_available ? "none requested" : "n/a (no PMU)";
  else if (!results.machine.pmu_available && hardware_open == 0) hardware = "n/a (no PMU)";
  else hardware = fmt::format("{} of {} events open", hardware_open, hardware_total);
  return fmt::format("software: {}; hardware: {}", software.empty() ? "none" : software, hardware);
}

std::string render_counter_table(const Results& results, TableFormat format) {
  const auto statuses = results.extra.find("counters");
  if (statuses == results.extra.end() || !statuses->is_array() || statuses->empty()) return {};
  const std::string page = preferred_latency_page(results);
  const std::vector<CurvePoint> curve = latency_curve(results, page);
  if (curve.empty()) return {};

  // One representative working set per level: the geometric middle between
  // the previous level's reported size and this one's; DRAM: the largest.
  const std::vector<CacheLevelRow>& levels = results.derived.cache_levels;
  std::vector<Column> columns{{"counter per load", false}};
  std::vector<double> sizes;
  double previous_bytes = curve.front().size_bytes;
  for (const CacheLevelRow& level : levels) {
    const double target =
        level.reported_bytes ? std::sqrt(previous_bytes * *level.reported_bytes) : curve.back().size_bytes;
    if (level.reported_bytes) previous_bytes = *level.reported_bytes;
    double best = curve.front().size_bytes;
    for (const CurvePoint& p : curve)
      if (std::abs(std::log(p.size_bytes / target)) < std::abs(std::log(best / target))) best = p.size_bytes;
    sizes.push_back(best);
    columns.push_back({fmt::format("{} ({})", level.level, format_bytes(best)), true});
  }

  std::vector<std::vector<std::string>> rows;
  for (const auto& status : *statuses) {
    const std::string column = status.value("column", status.value("event", std::string()));
    std::vector<std::string> row{column};
    const bool available = status.value("available", false);
    for (double size : sizes) {
      if (!available) {
        row.push_back(results.machine.pmu_available || status.value("software", false) ? "n/a" : "n/a (no PMU)");
        continue;
      }
      std::string cell = kMissing;
      for (const Case& c : results.cases) {
        if (c.family != "latency" || json_string(c.params, "page") != page) continue;
        if (json_number(c.params, "working_set_bytes") != size) continue;
        if (auto v = c.counters.find(column + "_per_access"); v != c.counters.end())
          cell = fmt::format("{:.3g}", v->second);
      }
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  return note_line(fmt::format("performance counters per load ({} curve)", page), format) +
         render_table(columns, rows, format);
}

// "DRAM + translation (random over the whole set): 4k 270 ns at 304 MiB
// (2.25x DRAM) | thp ...": the hugepage family's largest DRAM working set
// per page policy, next to the TLB-local DRAM row. Empty without one.
static std::string dram_translation_text(const Results& results) {
  auto it = results.derived.extra.find("dram_translation");
  if (it == results.derived.extra.end() || !it->is_array() || it->empty()) return {};
  std::string parts;
  for (const nlohmann::json& row : *it) {
    if (!row.is_object() || !row.value("latency_ns", nlohmann::json()).is_number()) continue;
    std::string part = fmt::format("{} {} ns at {}", row.value("page", "?"), format_ns(row["latency_ns"].get<double>()),
                                   format_bytes(row.value("working_set_bytes", 0.0)));
    if (row.contains("vs_dram") && row["vs_dram"].is_number())
      part += fmt::format(" ({:.2f}x DRAM)", row["vs_dram"].get<double>());
    parts += (parts.empty() ? "" : " | ") + part;
  }
  return parts;
}

std::string render_cache_table(const Results& results, TableFormat format) {
  const std::vector<CacheLevelRow> rows =
      results.derived.cache_levels.empty() ? derive_cache_levels(results) : results.derived.cache_levels;
  // A table whose family was not run is left out: without a latency curve
  // (`--only hugepage`) every row would be the reported size and dashes.
  if (std::none_of(rows.begin(), rows.end(),
                   [](const CacheLevelRow& row) { return row.latency_ns || row.detected_bytes; }))
    return {};
  // The curve the stored rows were derived from; recomputed rows use today's choice.
  std::string page = preferred_latency_page(results);
  if (auto it = results.derived.extra.find("latency_curve_page"); !results.derived.cache_levels.empty() &&
                                                                   results.derived.extra.is_object() &&
                                                                   it != results.derived.extra.end() && it->is_string())
    page = it->get<std::string>();

  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> notes;
  bool noisy = false;
  for (const CacheLevelRow& row : rows) {
    std::string spread = kMissing;
    if (row.spread_pct) {
      spread = fmt::format("±{:.1f}%", *row.spread_pct);
      if (*row.spread_pct > kNoisySpreadPct) {
        spread += "!";
        noisy = true;
      }
    }
    cells.push_back({row.level, or_missing(row.reported_bytes, format_bytes),
                     or_missing(row.detected_bytes, format_bytes), or_missing(row.latency_ns, format_ns),
                     or_missing(row.latency_cycles, format_cycles), spread});
    if (!row.note.empty()) notes.push_back(fmt::format("{}: {}", row.level, row.note));
  }

  std::string out = render_table({{"level", false},
                                  {"reported", true},
                                  {"detected", true},
                                  {"latency ns", true},
                                  {"latency cycles", true},
                                  {"spread", true}},
                                 cells, format);
  if (!page.empty()) {
    const std::vector<std::string> verified = verified_latency_pages(results);
    std::string why;
    if (verified.size() > 1) {
      std::string names;
      for (const std::string& v : verified) names += (names.empty() ? "" : ", ") + v;
      why = fmt::format(": the lowest of the verified curves ({}); translation misses only add latency", names);
    } else if (page != "4k" && backing_verified(results, page)) {
      why = " (backing verified)";
    }
    out += note_line(fmt::format("latency from the {} curve{}", page, why), format);
  }
  if (const std::string translation = dram_translation_text(results); !translation.empty())
    out += note_line("DRAM + translation (random over the whole set, every page-table level in play): " + translation,
                     format);
  if (noisy)
    out += note_line(fmt::format("!: repetitions differ by more than {:.0f}% of the median; rerun on a quieter machine",
                                 kNoisySpreadPct),
                     format);
  for (const std::string& note : notes) out += note_line(note, format);
  return out;
}

std::string render_latency_curve(const Results& results, TableFormat format) {
  const std::vector<std::string> pages = latency_pages(results);
  if (pages.empty()) return {};

  struct Cell {
    std::string ns, cycles;
  };
  std::map<double, std::map<std::string, Cell>> by_size;
  bool any_noisy = false;
  for (const Case& c : results.cases) {
    if (c.family != "latency") continue;
    auto page = c.params.find("page");
    auto size = c.params.find("working_set_bytes");
    auto ns = c.metrics.find("ns_per_load");
    if (page == c.params.end() || !page->is_string() || size == c.params.end() || !size->is_number() ||
        ns == c.metrics.end())
      continue;
    Cell cell;
    // Files written before spread.noisy existed: judge from min/max.
    const bool noisy = c.spread.noisy || spread_pct(c.spread) > kNoisySpreadPct;
    cell.ns = format_ns(ns->second) + (noisy ? "!" : "");
    any_noisy |= noisy;
    if (!c.backing.verified.empty() && c.backing.verified != c.backing.requested) {
      if (c.backing.requested == "4k")
        cell.ns += fmt::format(" (backing {})", c.backing.verified);
      else if (c.backing.verified == "mixed")
        cell.ns += " (partly huge)";
      else
        cell.ns += " (not huge)";
    }
    if (auto cycles = c.metrics.find("cycles_per_load"); cycles != c.metrics.end())
      cell.cycles = or_missing(cycles->second, format_cycles);
    else if (results.machine.core_hz > 0)
      cell.cycles = or_missing(ns->second * results.machine.core_hz / 1e9, format_cycles);
    else
      cell.cycles = kMissing;
    by_size[size->get<double>()][page->get<std::string>()] = cell;
  }

  std::vector<Column> columns = {{"working set", true}};
  for (const std::string& page : pages) {
    columns.push_back({page + " ns", true});
    columns.push_back({page + " cycles", true});
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [size, cells] : by_size) {
    std::vector<std::string> row = {format_bytes(size)};
    for (const std::string& page : pages) {
      auto it = cells.find(page);
      row.push_back(it == cells.end() ? kMissing : it->second.ns);
      row.push_back(it == cells.end() ? kMissing : it->second.cycles);
    }
    rows.push_back(std::move(row));
  }
  std::string out = render_table(columns, rows, format);
  if (any_noisy)
    out += note_line(fmt::format("!: repetitions differ by more than {:.0f}% of the median (results: spread.noisy)",
                                 kNoisySpreadPct),
                     format);
  return out;
}

std::string render_unavailable(const Results& results, TableFormat format) {
  // One line per reason: a family whose cases all miss the same resource
  // (e.g. every mlp/k:N without the working set it needs) is one line.
  std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
  for (const UnavailableFigure& u : results.unavailable) {
    auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& r) { return r.first == u.reason; });
    if (it == by_reason.end()) by_reason.push_back({u.reason, {u.what}});
    else it->second.push_back(u.what);
  }
  constexpr std::size_t kNamesShown = 3;
  std::string out;
  for (const auto& [reason, whats] : by_reason) {
    std::string names;
    for (std::size_t i = 0; i < whats.size() && i < kNamesShown; ++i) names += (i ? ", " : "") + whats[i];
    if (whats.size() > kNamesShown) names += fmt::format(", ... ({} in all)", whats.size());
    out += note_line(fmt::format("unavailable: {}: {}", names, reason), format);
  }
  return out;
}

std::string render_summary(const Results& results, TableFormat format) {
  std::vector<std::vector<std::string>> rows;
  std::string caches;
  for (const CacheLevelRow& row : results.derived.cache_levels) {
    if (!row.latency_ns) continue;
    std::string text = row.level;
    if (row.detected_bytes) text += " " + format_bytes(*row.detected_bytes);
    text += row.latency_cycles ? fmt::format(" {:.1f} cycles", *row.latency_cycles) : "";
    text += fmt::format(" ({} ns)", format_ns(*row.latency_ns));
    caches += (caches.empty() ? "" : " | ") + text;
  }
  if (!caches.empty()) rows.push_back({"latency", caches});
  if (const std::string translation = dram_translation_text(results); !translation.empty())
    rows.push_back({"DRAM + translation", translation});

  if (auto tlb = results.derived.extra.find("tlb"); tlb != results.derived.extra.end() && tlb->is_array()) {
    std::map<std::string, std::string> by_page;
    for (const auto& row : *tlb) {
      const auto entries = row.find("detected_entries");
      const std::string value = entries != row.end() && entries->is_number()
                                    ? fmt::format("{:.0f}", entries->get<double>())
                                    : std::string("no clear knee");
      std::string& text = by_page[row.value("page", std::string())];
      text += fmt::format("{}{} {}", text.empty() ? "" : ", ", row.value("level", std::string()), value);
    }
    std::string text;
    for (const auto& [page, levels] : by_page) text += fmt::format("{}{} pages: {}", text.empty() ? "" : " | ", page, levels);
    if (!text.empty()) rows.push_back({"DTLB entries", text});
  }

  if (const std::string huge = hugepage_summary_line(results); !huge.empty()) rows.push_back({"huge pages", huge});

  if (auto faults = results.derived.extra.find("page_fault"); faults != results.derived.extra.end() && faults->is_array()) {
    std::string text;
    for (const auto& row : *faults) {
      const auto us = row.find("us_per_fault");
      if (row.value("phase", std::string()) != "warm" || us == row.end() || !us->is_number()) continue;
      const double value = us->get<double>();
      text += fmt::format("{}{} {} us", text.empty() ? "" : ", ", row.value("kind", std::string()),
                          value >= 100 ? fmt::format("{:.0f}", value) : fmt::format("{:.3g}", value));
    }
    if (!text.empty()) rows.push_back({"page fault", text + " per fault (warm)"});
  }
  if (rows.empty()) return {};
  return note_line("summary", format) + render_table({{"what", false}, {"measured", false}}, rows, format);
}

std::string render_sections(const Results& results, TableFormat format) {
  std::string out;
  const auto section = [&](const std::string& text) {
    if (text.empty()) return;
    if (!out.empty()) out += "\n";
    out += text;
  };
  section(render_summary(results, format));
  section(render_cache_table(results, format));
  section(render_latency_curve(results, format));
  section(render_counter_table(results, format));
  section(render_hugepage_table(results, format));
  section(render_page_fault_table(results, format));
  section(render_tlb_table(results, format));
  section(render_page_walk_table(results, format));
  section(render_stride_table(results, format));
  section(render_bandwidth_table(results, format));
  section(render_mlp_table(results, format));
  section(render_loaded_latency_table(results, format));
  section(render_unavailable(results, format));
  return out;
}

std::string render_report(const Results& results, TableFormat format) {
  return render_machine_header(results, format) + "\n" + render_sections(results, format);
}

}  // namespace memprobe::analysis
