#include "analysis/tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include "analysis/family.h"
#include "analysis/table_format.h"

namespace memprobe::analysis {
namespace {


// Header values come from the results file (cpu_model, kernel, command):
// escaped, so a file cannot forge a header line or steer the terminal.
std::string header_line(const char* label, const std::string& text) {
  return fmt::format("{:<11}{}\n", label, escape_control(text));
}

// The machine header as a block: verbatim text, a fenced block in Markdown,
// "# " comments in CSV, a <pre> in HTML (its lines are escape_control'd
// already; html_escape makes them text).
std::string format_block(const std::string& text, TableFormat format) {
  if (format == TableFormat::kMarkdown) return "```\n" + text + "```\n";
  if (format == TableFormat::kHtml) return "<pre class=\"header\">" + html_escape(text) + "</pre>\n";
  if (format == TableFormat::kText) return text;
  std::string out;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
    out += note_line(text.substr(start, end - start), format);
  return out;
}

std::string core_clock_source(const std::string& source) {
  if (source == "calibrated") return "calibrated: dependent-add chain";
  if (source == "pmu") return "PMU cycles";
  return source;
}

// "L1d 48 KiB 12-way 64 B lines | ...", or "".
std::string caches_text(const MachineInfo& m) {
  std::string cache_text;
  for (const CacheInfo& c : caches_by_level(m.caches)) {
    std::string text = fmt::format("{} {}", cache_label(c), format_bytes(c.size_bytes));
    if (c.ways > 0)
      text += fmt::format(" {}-way", c.ways);
    else if (c.ways < 0)
      text += " fully associative";
    if (c.line_bytes > 0) text += fmt::format(" {} B lines", c.line_bytes);
    cache_text += (cache_text.empty() ? "" : " | ") + text;
  }
  return cache_text;
}

// "L1 4K 64 entries, ...", or "".
std::string tlbs_text(const MachineInfo& m) {
  std::string tlb_text;
  for (const TlbInfo& t : m.tlb) {
    const std::string entries = t.entries ? fmt::format("{} entries", *t.entries) : std::string("unknown");
    tlb_text += fmt::format("{}L{} {} {}", tlb_text.empty() ? "" : ", ", t.level, page_label(t.page_bytes), entries);
  }
  return tlb_text;
}

// The header's "memory" line: the working-set cap and where it came from;
// "" for files from before --max-working-set.
std::string memory_text(const Results& results) {
  const auto it = results.extra.find("max_working_set_bytes");
  if (it == results.extra.end() || !it->is_number_unsigned()) return {};
  const std::string size = format_bytes(it->get<std::uint64_t>());
  const auto source = results.extra.find("max_working_set_source");
  const std::string from = source != results.extra.end() && source->is_string() ? source->get<std::string>() : "";
  if (from == "default")
    return fmt::format("working sets: the latency sweep grows until its curve shows DRAM, at most {} (8x the "
                       "reported LLC, 4x with --quick); the huge-page ladder goes to 4 GiB where memory and its "
                       "first-touch budget allow (256 MiB with --quick); --max-working-set caps every family",
                       size);
  return fmt::format("working sets at most {}{}", size, from.empty() ? "" : fmt::format(" ({})", from));
}

// Written after the sweeps: where each growing sweep ended and why (files
// since the growing sweeps; none before).
// "latency to 64 MiB: <reason>" from extra[key] = {<up_to_key>, end_reason};
// "" when the file has no such member or it is malformed.
std::string sweep_line(const Results& results, const char* key, const char* up_to_key,
                       std::string (*what_up_to)(double)) {
  const auto it = results.extra.find(key);
  if (it == results.extra.end() || !it->is_object() || !it->value(up_to_key, nlohmann::json()).is_number() ||
      !it->value("end_reason", nlohmann::json()).is_string())
    return {};
  return header_line("sweep", fmt::format("{}: {}", what_up_to((*it)[up_to_key].get<double>()),
                                          (*it)["end_reason"].get<std::string>()));
}

std::string sweep_lines(const Results& results) {
  return sweep_line(results, "latency_sweep", "up_to_bytes",
                    [](double bytes) { return fmt::format("latency to {}", format_bytes(bytes)); }) +
         sweep_line(results, "tlb_sweep", "up_to_pages",
                    [](double pages) { return fmt::format("tlb base pages to {:.0f}", pages); });
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

  const std::string cache_text = caches_text(m);
  out += header_line("caches", cache_text.empty() ? "unknown" : cache_text);

  const std::string tlb_text = tlbs_text(m);
  const std::string tlb_from = m.tlb_source.empty() ? "CPUID" : m.tlb_source;  // older files: always CPUID
  out += header_line("TLB", tlb_text.empty() ? (m.tlb_source.empty() ? "unknown" : m.tlb_source)
                                             : fmt::format("{} ({})", tlb_text, tlb_from));
  if (m.base_page_bytes) {
    std::string pages = fmt::format("base {}", format_bytes(*m.base_page_bytes));
    if (m.thp_page_bytes) pages += fmt::format(", THP {}", format_bytes(*m.thp_page_bytes));
    out += header_line("pages", pages);
  }

  out += header_line("THP", fmt::format("enabled={} defrag={}", m.thp_enabled.empty() ? "unknown" : m.thp_enabled,
                                        m.thp_defrag.empty() ? "unknown" : m.thp_defrag));
  out += header_line("hugetlb", fmt::format("2 MiB pool {} pages, 1 GiB pool {} pages", m.hugepages_2m_reserved,
                                            m.hugepages_1g_reserved));
  out += header_line("PMU", m.pmu_available ? std::string("available")
                                            : "unavailable" + (m.pmu_reason.empty() ? "" : ": " + m.pmu_reason));
  if (const std::string counters = counters_summary(results); !counters.empty()) out += header_line("counters", counters);
  // Files from before --max-working-set have neither member: no line.
  if (const std::string memory = memory_text(results); !memory.empty()) out += header_line("memory", memory);
  out += sweep_lines(results);
  if (results.interrupted)
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

std::string render_outliers(const Results& results, TableFormat format) {
  std::string out;
  for (const Case& c : results.cases) {
    if (c.spread.outliers <= 0) continue;
    const auto [low, high] = outlier_free_range(c.spread);
    out += note_line(fmt::format("outlier repetitions: {}: {} of {} lie beyond {} robust standard deviations of the "
                                 "median {:.4g} {} (a pause, another process): left out of its spread {:.4g}..{:.4g}; "
                                 "all repetitions {:.4g}..{:.4g}",
                                 c.name, c.spread.outliers, c.spread.repetitions, kOutlierRobustSigmas,
                                 c.spread.median, headline_metric(c), low, high, c.spread.min, c.spread.max),
                     format);
  }
  return out;
}

std::string render_summary(const Results& results, TableFormat format) {
  std::vector<SummaryLine> lines;
  for (const FamilyDescriptor* family : families_in_report_order())
    if (family->summary)
      for (SummaryLine& line : family->summary(results)) lines.push_back(std::move(line));
  if (lines.empty()) return {};
  std::stable_sort(lines.begin(), lines.end(),
                   [](const SummaryLine& a, const SummaryLine& b) { return a.rank < b.rank; });
  std::vector<std::vector<std::string>> rows;
  for (const SummaryLine& line : lines) rows.push_back({line.what, line.measured});
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
  for (const FamilyDescriptor* family : families_in_report_order())
    if (family->render) section(family->render(results, format));
  section(render_outliers(results, format));
  section(render_unavailable(results, format));
  return out;
}

std::string render_report(const Results& results, TableFormat format) {
  // A file without cases measured nothing: said once, instead of tables
  // that are silently absent (and nothing is derived from nothing).
  const std::string no_cases =
      results.cases.empty()
          ? note_line("no cases: this file holds no measurement, so no figure is derived from it", format)
          : std::string();
  return render_machine_header(results, format) + "\n" + no_cases + render_sections(results, format);
}

}  // namespace memprobe::analysis
