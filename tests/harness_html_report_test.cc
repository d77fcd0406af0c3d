// Issue 27, items 4 and 5: `memprobe report|compare|fleet --format html`
// render in a real browser. The browser is Debian's chromium-headless-shell
// (or chromium) driven by --dump-dom: a Debian package and a command line,
// so no npm, no Playwright and no browser download (which these machines
// cannot reach). The DOM Chromium dumps after the load event is parsed here
// and held against the text report: every table of the text report is a
// <table> of the page with the same cells, every inline SVG plot has a
// rendered size, and the page logged no error. The report itself carries
// no script: a test-only probe <script> is injected into a copy of it.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "analysis/loaded_run.h"
#include "analysis/plots.h"
#include "tests/command_runner.h"
#include "tests/emulation.h"

namespace memprobe {
namespace {

namespace fs = std::filesystem;
using testing::run_command_line;
using testing::slurp;

using Row = std::vector<std::string>;
using Table = std::vector<Row>;  // header row first

// The browser binary, or "" when none is installed.
std::string browser() {
  for (const char* candidate : {"/usr/bin/chromium-headless-shell", "/usr/bin/chromium"})
    if (::access(candidate, X_OK) == 0) return candidate;
  return "";
}

// Why the browser test cannot run here, or "".
std::string skip_reason() {
  if (const auto emulated = testing::emulation_reason()) return *emulated + ": no browser for this architecture here";
  if (browser().empty())
    return "no headless browser installed (apt-get install chromium-headless-shell; scripts/setup.sh installs it)";
  return "";
}

// The probe: errors and console.error calls from the page, any resource the
// page fetched, and each <svg>'s rendered size, written into attributes that
// --dump-dom then shows.
constexpr const char* kProbe = R"js(<script>
window.__probe_errors = [];
window.addEventListener('error', function (e) {
  window.__probe_errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || 'resource'));
}, true);
(function () {
  var original = console.error;
  console.error = function () {
    window.__probe_errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
window.addEventListener('load', function () {
  var svgs = document.querySelectorAll('svg');
  for (var i = 0; i < svgs.length; i++) {
    var box = svgs[i].getBoundingClientRect();
    svgs[i].setAttribute('data-probe-width', String(box.width));
    svgs[i].setAttribute('data-probe-height', String(box.height));
  }
  var fetched = performance.getEntriesByType('resource').map(function (r) { return r.name; });
  document.body.setAttribute('data-probe-errors', JSON.stringify(window.__probe_errors));
  document.body.setAttribute('data-probe-resources', JSON.stringify(fetched));
  document.body.setAttribute('data-probe-done', 'yes');
});
</script>
)js";

std::string unescape(std::string text) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", "\xc2\xa0"}, {"&amp;", "&"}};
  for (const auto& [entity, text_of] : kEntities)
    for (std::size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at + 1))
      text.replace(at, std::string(entity).size(), text_of);
  return text;
}

// The elements `<name ...>inner</name>` of `html` (not nested in each
// other), as their inner text. Plain string search: std::regex recurses per
// character and a page of plots is too long for it.
std::vector<std::string> elements(const std::string& html, const std::string& name) {
  std::vector<std::string> found;
  const std::string close = "</" + name + ">";
  for (std::size_t at = html.find("<" + name); at != std::string::npos; at = html.find("<" + name, at + 1)) {
    const char after = at + name.size() + 1 < html.size() ? html[at + name.size() + 1] : '\0';
    if (after != '>' && after != ' ') continue;  // <th> is not <thead>
    const std::size_t open_end = html.find('>', at);
    const std::size_t end = html.find(close, open_end);
    if (open_end == std::string::npos || end == std::string::npos) break;
    found.push_back(html.substr(open_end + 1, end - open_end - 1));
    at = end;
  }
  return found;
}

std::string strip_tags(const std::string& html) {
  std::string out;
  bool in_tag = false;
  for (const char c : html) {
    if (c == '<') in_tag = true;
    else if (c == '>') in_tag = false;
    else if (!in_tag) out += c;
  }
  return out;
}

// The <table>s of a DOM dump: rows of cell texts (tags inside cells dropped).
std::vector<Table> dom_tables(const std::string& dom) {
  std::vector<Table> tables;
  for (const std::string& body : elements(dom, "table")) {
    Table table;
    for (const std::string& row_html : elements(body, "tr")) {
      Row row;
      // Cells in order, header or data.
      for (std::size_t at = row_html.find("<t"); at != std::string::npos; at = row_html.find("<t", at + 1)) {
        if (at + 3 >= row_html.size()) break;
        const char kind = row_html[at + 2];
        if ((kind != 'h' && kind != 'd') || (row_html[at + 3] != '>' && row_html[at + 3] != ' ')) continue;
        const std::size_t open_end = row_html.find('>', at);
        const std::size_t end = row_html.find(std::string("</t") + kind + ">", open_end);
        if (open_end == std::string::npos || end == std::string::npos) break;
        row.push_back(unescape(strip_tags(row_html.substr(open_end + 1, end - open_end - 1))));
        at = end;
      }
      table.push_back(std::move(row));
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

// A line as code points: the text tables align by display columns, one per
// code point ("—" is three bytes and one column).
std::vector<std::string> code_points(const std::string& line) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < line.size();) {
    std::size_t length = 1;
    const auto lead = static_cast<unsigned char>(line[i]);
    if (lead >= 0xF0) length = 4;
    else if (lead >= 0xE0) length = 3;
    else if (lead >= 0xC0) length = 2;
    out.push_back(line.substr(i, length));
    i += length;
  }
  return out;
}

std::string trim(const std::string& text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// Cells of a text-table line cut at the columns of its dashes line.
Row cut(const std::string& line, const std::vector<std::pair<std::size_t, std::size_t>>& columns) {
  const std::vector<std::string> points = code_points(line);
  Row row;
  for (const auto& [start, width] : columns) {
    std::string cell;
    for (std::size_t i = start; i < start + width && i < points.size(); ++i) cell += points[i];
    row.push_back(trim(cell));
  }
  return row;
}

struct TextTable {
  std::size_t dashes_line = 0;  // index of its dashes line
  std::vector<std::pair<std::size_t, std::size_t>> columns;
};

// The tables of a text report: each is a title line, a line of dash runs
// two spaces apart, then its rows.
std::vector<TextTable> text_tables(const std::vector<std::string>& lines) {
  std::vector<TextTable> tables;
  const std::regex dashes(R"(-+(  -+)*)");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (!std::regex_match(lines[i], dashes)) continue;
    TextTable table;
    table.dashes_line = i;
    for (std::size_t at = 0; at < lines[i].size();) {
      const std::size_t end = std::min(lines[i].find(' ', at), lines[i].size());
      table.columns.push_back({at, end - at});
      at = end + 2;
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start))
    lines.push_back(text.substr(start, end - start));
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

// Every table of the text output is the table at the same place in the DOM,
// with the same header and the same cells, row by row.
void expect_same_tables(const std::string& text, const std::string& dom, const std::string& what) {
  const std::vector<std::string> lines = lines_of(text);
  const std::vector<TextTable> text_tabs = text_tables(lines);
  const std::vector<Table> dom_tabs = dom_tables(dom);
  ASSERT_EQ(text_tabs.size(), dom_tabs.size()) << what << ": tables in the text and in the DOM";
  EXPECT_GT(text_tabs.size(), 0u) << what;
  std::size_t numbers = 0;
  for (std::size_t t = 0; t < text_tabs.size(); ++t) {
    const TextTable& tt = text_tabs[t];
    const Table& dt = dom_tabs[t];
    ASSERT_FALSE(dt.empty()) << what << " table " << t;
    EXPECT_EQ(cut(lines[tt.dashes_line - 1], tt.columns), dt[0]) << what << " table " << t << " header";
    for (std::size_t r = 1; r < dt.size(); ++r) {
      const std::size_t line = tt.dashes_line + r;
      ASSERT_LT(line, lines.size()) << what << " table " << t;
      const Row row = cut(lines[line], tt.columns);
      EXPECT_EQ(row, dt[r]) << what << " table " << t << " row " << r << ": " << lines[line];
      for (const std::string& cell : row) numbers += !cell.empty() && std::isdigit(static_cast<unsigned char>(cell[0]));
    }
  }
  EXPECT_GT(numbers, 0u) << what << ": no number compared";
}

// The document loads nothing: no script, no src/href to the network.
void expect_self_contained(const std::string& html, const std::string& what) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u) << what;
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos) << what;
  EXPECT_NE(html.find("<title>"), std::string::npos) << what;
  EXPECT_EQ(html.find("<script"), std::string::npos) << what;
  const std::regex external(R"((src|href)\s*=\s*['"]?\s*(https?:)?//)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, external)) << what;
}

struct Rendered {
  std::string dom;
  std::string browser_err;
};

// Opens a probe-carrying copy of `html_file` in headless Chromium and returns
// the DOM after load. Flags: headless, no sandbox (root in a VM), nothing in
// the background that would reach the network, a fresh profile.
Rendered render(const fs::path& html_file, const fs::path& work) {
  std::string html = slurp(html_file);
  const std::size_t head_end = html.find("</head>");
  EXPECT_NE(head_end, std::string::npos) << html_file;
  if (head_end != std::string::npos) html.insert(head_end, kProbe);
  const fs::path probed = work / (html_file.stem().string() + "-probed.html");
  std::ofstream(probed) << html;
  const fs::path profile = testing::make_temp_dir("memprobe-chromium-profile");
  const auto result = run_command_line(
      "timeout 90 " + browser() +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
      " --disable-component-update --disable-sync --disable-extensions --host-resolver-rules='MAP * ~NOTFOUND'"
      " --user-data-dir=" + profile.string() + " --allow-file-access-from-files --window-size=1200,3000"
      " --dump-dom file://" + probed.string());
  fs::remove_all(profile);
  EXPECT_EQ(result.exit_status, 0) << html_file << ": " << result.err;
  return {result.out, result.err};
}

// The probe's record: no error, nothing fetched, every SVG of a size; and
// the browser printed no uncaught exception.
void expect_rendered_cleanly(const Rendered& page, const std::string& what, std::size_t svgs_expected) {
  EXPECT_NE(page.dom.find("data-probe-done=\"yes\""), std::string::npos) << what << ": the probe did not run";
  EXPECT_NE(page.dom.find("data-probe-errors=\"[]\""), std::string::npos) << what << ": " << page.dom.substr(0, 400);
  EXPECT_NE(page.dom.find("data-probe-resources=\"[]\""), std::string::npos) << what;
  EXPECT_EQ(page.browser_err.find("Uncaught"), std::string::npos) << what << ": " << page.browser_err;
  std::size_t svgs = 0, measured = 0;
  const std::regex width_re(R"re(data-probe-width="([0-9.]+)")re"), height_re(R"re(data-probe-height="([0-9.]+)")re");
  for (std::size_t at = page.dom.find("<svg"); at != std::string::npos; at = page.dom.find("<svg", at + 1)) {
    const char after = at + 4 < page.dom.size() ? page.dom[at + 4] : '\0';
    if (after != ' ' && after != '>' && after != '\n') continue;
    ++svgs;
    const std::string tag = page.dom.substr(at, page.dom.find('>', at) - at);
    std::smatch width, height;
    if (!std::regex_search(tag, width, width_re) || !std::regex_search(tag, height, height_re)) continue;
    ++measured;
    EXPECT_GT(std::stod(width[1].str()), 0) << what << " svg " << svgs;
    EXPECT_GT(std::stod(height[1].str()), 0) << what << " svg " << svgs;
  }
  EXPECT_EQ(measured, svgs) << what << ": an svg without its measured size";
  EXPECT_EQ(svgs, svgs_expected) << what;
}

bool gnuplot_installed() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

// A kept results file of a real run (results/<kind>/*.json), newest name first.
fs::path kept_results_file() {
  std::vector<fs::path> files;
  for (const auto& dir : fs::directory_iterator(fs::path(MEMPROBE_SOURCE_DIR) / "results"))
    if (dir.is_directory())
      for (const auto& file : fs::directory_iterator(dir.path()))
        if (file.path().extension() == ".json") files.push_back(file.path());
  std::sort(files.begin(), files.end());
  return files.empty() ? fs::path() : files.back();
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

TEST(HtmlReportBrowserTest, EveryTableAndPlotRendersInHeadlessChromium) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const fs::path work = testing::make_temp_dir("memprobe-html");
  const fs::path fresh = work / "fresh.json";
  const auto run = run_command_line(kMemprobe + " run --quick --only latency,tlb,hugepage,bandwidth --out " +
                                    quoted(fresh));
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const fs::path kept = kept_results_file();
  ASSERT_FALSE(kept.empty()) << "no results/*/*.json in " << MEMPROBE_SOURCE_DIR;
  const fs::path fleet_dir = work / "fleet";
  fs::create_directories(fleet_dir);
  fs::copy_file(fresh, fleet_dir / "fresh.json");
  fs::copy_file(kept, fleet_dir / kept.filename());

  struct Page {
    std::string name, command, operands;  // options go before the operands ("A1 A2 -- B1 B2")
    int exit_status = 0;                   // --fail-on-regression may flag (3): -1 for 0 or 3
    std::size_t svgs = 0;
  };
  std::size_t fresh_plots = 0;
  if (gnuplot_installed()) fresh_plots = analysis::build_plots(analysis::load_run(fresh.string()).results).size();
  const std::vector<Page> pages = {
      {"report", "report", quoted(fresh), 0, fresh_plots},
      {"report-kept", "report", quoted(kept), 0, 0},
      {"compare-self", "compare", quoted(fresh) + " " + quoted(fresh), 0, 0},
      {"compare-two", "compare --fail-on-regression 5", quoted(kept) + " " + quoted(fresh), -1, 0},
      {"compare-sides", "compare",
       quoted(kept) + " " + quoted(kept) + " -- " + quoted(fresh) + " " + quoted(fresh), 0, 0},
      {"fleet", "fleet", quoted(fleet_dir), 0, 0},
  };
  for (const Page& page : pages) {
    SCOPED_TRACE(page.name);
    const fs::path html_file = work / (page.name + ".html");
    const auto html = run_command_line(kMemprobe + " " + page.command + " --format html " + page.operands);
    const auto text = run_command_line(kMemprobe + " " + page.command + " " + page.operands);
    if (page.exit_status >= 0) {
      EXPECT_EQ(html.exit_status, page.exit_status) << html.err;
    } else {
      EXPECT_TRUE(html.exit_status == 0 || html.exit_status == 3) << html.err;
    }
    EXPECT_EQ(html.exit_status, text.exit_status) << html.err << text.err;
    std::ofstream(html_file) << html.out;
    expect_self_contained(html.out, page.name);
    std::size_t svgs = page.svgs;
    if (page.name == "report-kept") {
      svgs = gnuplot_installed() ? analysis::build_plots(analysis::load_run(kept.string()).results).size() : 0;
    }
    if (!gnuplot_installed() && page.name.starts_with("report")) {
      EXPECT_NE(html.out.find("gnuplot is not installed"), std::string::npos);
    }
    const Rendered rendered = render(html_file, work);
    expect_rendered_cleanly(rendered, page.name, svgs);
    expect_same_tables(text.out, rendered.dom, page.name);
    if (page.name.starts_with("report")) {
      EXPECT_NE(rendered.dom.find("<pre class=\"header\">"), std::string::npos);
      EXPECT_NE(rendered.dom.find(">summary</p>"), std::string::npos);
    }
    if (page.name.starts_with("compare")) {
      EXPECT_NE(rendered.dom.find("class=\"verdict "), std::string::npos) << "verdict cells carry a class";
    }
  }
  if (gnuplot_installed()) {
    // The report of a latency run shows its curve with the levels marked.
    const std::string report = slurp(work / "report.html");
    EXPECT_NE(report.find("<figure id=\"plot-latency\">"), std::string::npos);
  }
  fs::remove_all(work);
}

// The comparison itself: a text table and its DOM agree cell by cell, and
// one figure off is a failure naming the row (so the browser test above
// cannot pass by comparing nothing).
TEST(HtmlReportBrowserTest, TheTableComparisonSeesOneDifferentFigure) {
  static const std::string text = "summary\nlevel  ns\n-----  ----\nL1     1.10\nDRAM      —\nnote under it\n";
  static const std::string dom =
      "<p>summary</p><table>\n<thead><tr><th>level</th><th class=\"num\">ns</th></tr></thead>\n<tbody>\n"
      "<tr><td>L1</td><td class=\"num\">1.10</td></tr>\n<tr><td>DRAM</td><td class=\"num\">—</td></tr>\n"
      "</tbody></table><p>note under it</p>";
  expect_same_tables(text, dom, "same");
  static const std::string other = std::regex_replace(dom, std::regex("1\\.10"), "1.11");
  EXPECT_NONFATAL_FAILURE(expect_same_tables(text, other, "one figure off"), "row 1");
  EXPECT_FATAL_FAILURE(expect_same_tables(text, "<p>no table</p>", "no table"), "tables in the text and in the DOM");
}

// gnuplot is a Recommends: without it the page says so in one line in place
// of the plots and the command still succeeds; with it, the SVG is inlined.
// Either way gnuplot's private directory is gone afterwards.
TEST(HtmlReportBrowserTest, PlotsAreInlinedOrOneLineSaysWhyAndNoTemporaryDirectoryIsLeft) {
  if (std::string(MEMPROBE_EMULATOR) != "") GTEST_SKIP() << "the emulator wrapper needs PATH to find the emulator";
  const fs::path kept = kept_results_file();
  ASSERT_FALSE(kept.empty());
  const fs::path tmp = testing::make_temp_dir("memprobe-html-tmp");
  const std::string env = "env TMPDIR=" + quoted(tmp) + " ";
  const auto without =
      run_command_line(env + "PATH=/nonexistent " + kMemprobe + " report --format html " + quoted(kept));
  EXPECT_EQ(without.exit_status, 0) << without.err;
  EXPECT_NE(without.out.find("<p class=\"note\">plots left out: gnuplot is not installed"), std::string::npos);
  EXPECT_EQ(without.out.find("<svg"), std::string::npos);
  expect_self_contained(without.out, "report without gnuplot");
  if (gnuplot_installed()) {
    const auto with = run_command_line(env + kMemprobe + " report --format html " + quoted(kept));
    EXPECT_EQ(with.exit_status, 0) << with.err;
    EXPECT_NE(with.out.find("<figure id=\"plot-latency\">"), std::string::npos);
    EXPECT_EQ(with.out.find("<?xml"), std::string::npos);
    expect_self_contained(with.out, "report with gnuplot");
  }
  EXPECT_TRUE(fs::is_empty(tmp)) << "a temporary directory was left in " << tmp;
  fs::remove_all(tmp);
}

// Bad input: one error line, exit 2, nothing on stdout (the page is rendered
// whole before it is written).
TEST(HtmlReportBrowserTest, NotAResultsFileIsOneLineAndExit2WithNothingOnStdout) {
  const fs::path work = testing::make_temp_dir("memprobe-html-bad");
  const fs::path bad = work / "bad.json";
  std::ofstream(bad) << "{\"not\": \"a results file\"}\n";
  for (const std::string& args : {"report " + quoted(bad) + " --format html",
                                  "compare " + quoted(bad) + " " + quoted(bad) + " --format html",
                                  "fleet " + quoted(work) + " --format html"}) {
    const auto r = run_command_line(kMemprobe + " " + args);
    EXPECT_EQ(r.exit_status, 2) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;
    EXPECT_EQ(r.err_lines().size(), 1u) << args << ": " << r.err;
  }
  const auto wrong = run_command_line(kMemprobe + " compare " + quoted(bad) + " " + quoted(bad) + " --format pdf");
  EXPECT_EQ(wrong.exit_status, 2);
  EXPECT_NE(wrong.err.find("text, csv, junit, html"), std::string::npos) << wrong.err;
  fs::remove_all(work);
}

}  // namespace
}  // namespace memprobe
