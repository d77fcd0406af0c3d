// The self-contained HTML report: `memprobe report|compare|fleet --format
// html`. The tables, notes and header inside come from the text report's own
// renderers with TableFormat::kHtml (analysis/table_format.h): one source of
// figures, no second number formatter. This file adds the document around
// them: <head> with an inline <style>, a <title>, and the plots as inline
// SVG. The document loads nothing: no <script>, no external stylesheet,
// font or image, so it opens offline and can be attached to a ticket.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/results.h"

namespace memprobe::analysis {

// A plot as gnuplot drew it: its name and caption (analysis/plots.h Plot)
// and the SVG document gnuplot wrote.
struct SvgPlot {
  std::string name;
  std::string svg;
  std::string caption;  // empty: the figure is captioned by its name
};

// The plots for the HTML report, or why there are none (gnuplot missing,
// gnuplot failed): `note` is printed as one line in their place.
struct HtmlPlots {
  std::vector<SvgPlot> plots;
  std::string note;
};

// gnuplot's SVG made fit to sit inside an HTML document: the <?xml ...?>
// prolog, DOCTYPE and comments before <svg> dropped, every id (and each
// reference to one) prefixed with `id_prefix` so that several plots in one
// page keep their ids unique. nullopt, with the reason in `why`, when the
// SVG holds anything that runs or loads: <script>, <foreignObject>, event
// handlers, or an href that is neither "#local" nor a data:image URI.
std::optional<std::string> inline_svg(std::string_view svg, const std::string& id_prefix, std::string& why);

// The <figure>s of the plots (each with a <figcaption>), or the note.
std::string render_plots_html(const HtmlPlots& plots);

// <!DOCTYPE html>, <meta charset="utf-8">, <title>, the inline style, and
// `body` (HTML fragments) inside <main>.
std::string html_document(const std::string& title, const std::string& heading, const std::string& body);

// The whole report of a results file: machine header, summary, every
// family's tables with their notes (render_report with kHtml), then the plots.
std::string render_report_html(const Results& results, const HtmlPlots& plots);

}  // namespace memprobe::analysis
