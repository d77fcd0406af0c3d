// The HTML report's document (analysis/html_report.h): self-contained (no
// script, no external reference), valid HTML5 head, the same tables as the
// text report, and gnuplot's SVG inlined only when it runs and loads nothing.
#include "analysis/html_report.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "analysis/compare.h"
#include "analysis/table_format.h"
#include "analysis/tables.h"
#include "tests/kvm_machine.h"

namespace memprobe::analysis {
namespace {

constexpr double kKiB = 1024.0;

Results small_results() {
  Results r = testing::kvm_amd_run("AMD <EPYC> & \"friends\"", "6.1.0-18-cloud-amd64", 2.6e9, 3.7e9);
  r.command = "memprobe run --only latency";
  r.started_at = "2026-12-07T12:00:00Z";
  r.machine.caches = {{1, "data", 32 * kKiB, 64, 8}};
  CacheLevelRow l1{"L1", 32 * kKiB, 32 * kKiB, 1.10, 4.07, 1.0, "a <note> & more"};
  CacheLevelRow dram{"DRAM", std::nullopt, std::nullopt, 90.0, 333.0, 2.0, ""};
  r.derived.cache_levels = {l1, dram};
  r.derived.extra["latency_curve_page"] = "4k";
  return r;
}

// Every src= and href= value, and every url(...) in the document.
std::vector<std::string> references(const std::string& html) {
  std::vector<std::string> found;
  const std::regex reference(R"re((?:src|href)\s*=\s*['"]?([^'" >]*)|url\(([^)]*)\))re", std::regex::icase);
  for (auto it = std::sregex_iterator(html.begin(), html.end(), reference); it != std::sregex_iterator(); ++it)
    found.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  return found;
}

void expect_self_contained(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u) << html.substr(0, 200);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<title>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  for (const std::string& ref : references(html)) {
    const bool local = ref.starts_with("#") || ref.starts_with("data:image/");
    EXPECT_TRUE(local) << "external reference: " << ref;
  }
}

TEST(HtmlReportTest, DocumentIsSelfContainedAndEscapesTheTitle) {
  const std::string html = html_document("memprobe <x> & \"y\"", "heading", "<p>body</p>\n");
  expect_self_contained(html);
  EXPECT_NE(html.find("<title>memprobe &lt;x&gt; &amp; &quot;y&quot;</title>"), std::string::npos) << html;
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

TEST(HtmlReportTest, ReportHoldsTheTextReportsCellsEscaped) {
  const Results r = small_results();
  const std::string html = render_report_html(r, {{}, "plots left out: gnuplot is not installed"});
  expect_self_contained(html);
  // The header and note text from the file is text, not markup.
  EXPECT_EQ(html.find("<EPYC>"), std::string::npos);
  EXPECT_NE(html.find("AMD &lt;EPYC&gt; &amp; &quot;friends&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<note>"), std::string::npos);
  // The same figures as the text report, from the same formatter.
  const std::string text = render_report(r);
  for (const char* figure : {"1.10", "90.0", "32 KiB"}) {
    EXPECT_NE(text.find(figure), std::string::npos) << figure;
    EXPECT_NE(html.find(std::string(">") + figure + "<"), std::string::npos) << figure;
  }
  EXPECT_NE(html.find("<p class=\"note\">plots left out: gnuplot is not installed</p>"), std::string::npos);
}

TEST(HtmlReportTest, SvgIsInlinedWithoutPrologAndWithUniqueIds) {
  const std::string svg =
      "<?xml version=\"1.0\" encoding=\"utf-8\"  standalone=\"no\"?>\n<!DOCTYPE svg>\n"
      "<svg viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
      "<defs><circle id='gpDot' r='1'/></defs><use xlink:href='#gpDot'/>"
      "<rect fill=\"url(#grad)\"/><image xlink:href='data:image/png;base64,AAAA'/></svg>\n";
  std::string why;
  const auto inlined = inline_svg(svg, "plot1-", why);
  ASSERT_TRUE(inlined) << why;
  EXPECT_EQ(inlined->rfind("<svg", 0), 0u);
  EXPECT_EQ(inlined->find("<?xml"), std::string::npos);
  EXPECT_NE(inlined->find("id='plot1-gpDot'"), std::string::npos) << *inlined;
  EXPECT_NE(inlined->find("xlink:href='#plot1-gpDot'"), std::string::npos) << *inlined;
  EXPECT_NE(inlined->find("url(#plot1-grad)"), std::string::npos) << *inlined;

  const std::string html = render_report_html(small_results(), {{{"latency", svg, "what <the> plot shows"}}, ""});
  expect_self_contained(html);
  EXPECT_NE(html.find("<figure id=\"plot-latency\">"), std::string::npos);
  EXPECT_NE(html.find("<figcaption>Figure 1: what &lt;the&gt; plot shows</figcaption>"), std::string::npos)
      << "the plot's own caption, escaped";
}

TEST(HtmlReportTest, SvgThatRunsOrLoadsSomethingIsLeftOutWithANote) {
  for (const char* bad :
       {"<svg><script>alert(1)</script></svg>", "<svg><image href='https://example.com/x.png'/></svg>",
        "<svg><a xlink:href=\"http://example.com/\">x</a></svg>", "<svg onload=\"x()\"></svg>",
        "<svg><foreignObject></foreignObject></svg>", "<svg><rect fill='url(http://x/y#z)'/></svg>"}) {
    std::string why;
    EXPECT_FALSE(inline_svg(bad, "p-", why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
    const std::string html = render_report_html(small_results(), {{{"latency", bad, ""}}, ""});
    expect_self_contained(html);
    EXPECT_NE(html.find("plot latency left out"), std::string::npos);
  }
}

TEST(HtmlReportTest, VerdictCellsKeepTheirWordsAndGainAClass) {
  EXPECT_STREQ(verdict_html_class("slower (x)"), "verdict worse");
  EXPECT_STREQ(verdict_html_class("faster"), "verdict better");
  EXPECT_STREQ(verdict_html_class("within noise"), "verdict same");
  EXPECT_STREQ(verdict_html_class("only in B"), "verdict missing");
  EXPECT_STREQ(verdict_html_class("larger: 2 MiB"), "verdict changed");
  EXPECT_STREQ(verdict_html_class(""), "");

  const Results a = small_results();
  Results b = a;
  b.derived.cache_levels[1].latency_ns = 180.0;
  b.derived.cache_levels[1].spread_pct = 1.0;
  const Comparison c = compare_results(a, b);
  const std::string text = render_comparison(c);
  const std::string html = render_comparison(c, TableFormat::kHtml);
  EXPECT_NE(text.find("slower"), std::string::npos) << text;
  EXPECT_NE(html.find("<td class=\"verdict worse\">slower"), std::string::npos) << html;
  EXPECT_EQ(html.find("\x1b"), std::string::npos);
  // Every line of the text comparison that is prose is a paragraph in HTML.
  EXPECT_NE(html.find("<p class=\"note\">derived figures:</p>"), std::string::npos) << html;
}

}  // namespace
}  // namespace memprobe::analysis
