#include "analysis/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "analysis/table_format.h"
#include "analysis/tables.h"

namespace memprobe::analysis {
namespace {

// Inline style only: the document loads nothing. Numbers right-aligned in
// tabular figures; a verdict's colour always sits next to its words.
constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 14px;
       line-height: 1.4; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 1400px; margin: 0 auto; padding: 1em 1.5em 3em; }
h1 { font-size: 1.5em; margin: 0.3em 0 0.6em; }
h2 { font-size: 1.2em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #ccc; }
pre.header { background: #f5f5f5; border: 1px solid #ddd; padding: 0.6em 0.8em; white-space: pre-wrap;
             font-size: 13px; }
p.note { margin: 0.25em 0; max-width: 110ch; color: #333; }
p.note + table { margin-top: 0.4em; }
table { border-collapse: collapse; margin: 0.8em 0 0.6em; font-size: 13px; }
th, td { border: 1px solid #d0d0d0; padding: 0.2em 0.55em; vertical-align: top; text-align: left; }
th { background: #eef1f5; font-weight: 600; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.verdict { font-weight: 600; }
td.verdict.worse { background: #fbd5d5; color: #7a0000; }
td.verdict.better { background: #d4f0d4; color: #0b4f0b; }
td.verdict.changed { background: #fdebc8; color: #6b4500; }
td.verdict.missing { background: #e8e8e8; color: #444; }
td.verdict.same { font-weight: normal; }
figure { margin: 1em 0 2em; }
figure svg { width: 100%; max-width: 960px; height: auto; display: block; border: 1px solid #e0e0e0; }
figcaption { font-size: 13px; color: #333; margin-top: 0.3em; }
)css";

bool starts_with_at(std::string_view text, std::size_t at, std::string_view what) {
  return text.substr(at, what.size()) == what;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string> inline_svg(std::string_view svg, const std::string& id_prefix, std::string& why) {
  const std::size_t start = svg.find("<svg");
  if (start == std::string_view::npos) {
    why = "no <svg> element";
    return std::nullopt;
  }
  const std::string_view body = svg.substr(start);
  const std::string folded = lower(body);
  for (const char* forbidden : {"<script", "<foreignobject", "<iframe", "<object", "<embed", "javascript:", " onload",
                                " onclick", " onmouse", "<?xml-stylesheet", "@import"}) {
    if (folded.find(forbidden) != std::string::npos) {
      why = fmt::format("it holds '{}'", forbidden);
      return std::nullopt;
    }
  }
  // Every reference stays inside the document: href='#id' or an inline
  // data:image (gnuplot's "with image" embeds a PNG so).
  for (std::size_t at = folded.find("href="); at != std::string::npos; at = folded.find("href=", at + 1)) {
    const std::size_t value = at + 6;  // past href= and the quote
    if (value > folded.size() || (folded[at + 5] != '\'' && folded[at + 5] != '"')) {
      why = "an unquoted href";
      return std::nullopt;
    }
    if (!starts_with_at(folded, value, "#") && !starts_with_at(folded, value, "data:image/")) {
      why = "an href outside the document";
      return std::nullopt;
    }
  }
  for (std::size_t at = folded.find("url("); at != std::string::npos; at = folded.find("url(", at + 1)) {
    if (!starts_with_at(folded, at + 4, "#")) {
      why = "a CSS url reference outside the document";
      return std::nullopt;
    }
  }
  // Ids unique across the page: id='x' -> id='<prefix>x', '#x' -> '#<prefix>x'.
  std::string out;
  out.reserve(body.size() + 256);
  for (std::size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    const bool id_attribute = (body[i] == '\'' || body[i] == '"') && i >= 4 && body.substr(i - 3, 3) == "id=" &&
                              std::isspace(static_cast<unsigned char>(body[i - 4]));
    const bool reference = body[i] == '#' && i >= 1 &&
                           ((body[i - 1] == '\'' || body[i - 1] == '"') ? i >= 6 && body.substr(i - 6, 5) == "href="
                                                                        : body[i - 1] == '(' && i >= 4 &&
                                                                              body.substr(i - 4, 3) == "url");
    if (id_attribute || reference) out += id_prefix;
  }
  return out;
}

std::string render_plots_html(const HtmlPlots& plots) {
  std::string out = "<h2 id=\"plots\">Plots</h2>\n";
  if (!plots.note.empty()) out += note_line(plots.note, TableFormat::kHtml);
  std::size_t number = 0;
  for (const SvgPlot& plot : plots.plots) {
    ++number;
    std::string why;
    const auto svg = inline_svg(plot.svg, fmt::format("plot{}-", number), why);
    if (!svg) {
      out += note_line(fmt::format("plot {} left out: its SVG is not self-contained ({})", plot.name, why),
                       TableFormat::kHtml);
      continue;
    }
    out += fmt::format("<figure id=\"plot-{}\">\n{}\n<figcaption>Figure {}: {}</figcaption>\n</figure>\n",
                       html_escape(plot.name), *svg, number,
                       html_escape(plot.caption.empty() ? plot.name : plot.caption));
  }
  if (plots.plots.empty() && plots.note.empty())
    out += note_line("no plot: no family of this file draws one", TableFormat::kHtml);
  return out;
}

std::string html_document(const std::string& title, const std::string& heading, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"memprobe\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<main>\n<h1>{}</h1>\n{}</main>\n</body>\n</html>\n",
      html_escape(escape_control(title)), kStyle, html_escape(escape_control(heading)), body);
}

std::string render_report_html(const Results& results, const HtmlPlots& plots) {
  std::string title = "memprobe report";
  if (!results.machine.cpu_model.empty()) title += ": " + results.machine.cpu_model;
  if (!results.started_at.empty()) title += ", " + results.started_at;
  // The text report's own rendering; a heading goes between its machine
  // header (the first <pre>) and its tables.
  std::string report = render_report(results, TableFormat::kHtml);
  const std::string header_end = "</pre>\n";
  if (const std::size_t at = report.find(header_end); at != std::string::npos)
    report.insert(at + header_end.size(), "<h2 id=\"tables\">Summary and tables</h2>\n");
  const std::string body = "<h2 id=\"machine\">Machine and run</h2>\n" + report + render_plots_html(plots);
  return html_document(title, title, body);
}

}  // namespace memprobe::analysis
