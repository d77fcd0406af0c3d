#include "harness/plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace memprobe::harness {
namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

std::string known_family_names() {
  std::string names;
  for (const bench::Family& f : bench::families()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace

// Default run order: the headline latency curve first; pagefault last, as it
// releases the shared chase buffer and maps fresh memory itself.
constexpr const char* kRunOrder[] = {"latency", "stride", "tlb",    "pagewalk",
                                     "hugepage", "bandwidth", "mlp", "loaded", "pagefault"};

std::vector<std::string> parse_family_list(const std::string& text) {
  std::vector<std::string> names;
  if (text.empty()) {
    for (const char* name : kRunOrder)
      if (bench::find_family(name)) names.emplace_back(name);
    for (const bench::Family& f : bench::families())
      if (std::find(names.begin(), names.end(), f.name) == names.end()) names.emplace_back(f.name);
    return names;
  }
  for (const std::string& name : split_commas(text)) {
    if (!bench::find_family(name))
      throw UsageError(fmt::format("--only: unknown family '{}' (known: {})", name, known_family_names()));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (names.empty()) throw UsageError("--only: no family named");
  return names;
}

std::vector<core::PagePolicy> parse_page_list(const std::string& text) {
  std::vector<core::PagePolicy> policies;
  for (const std::string& name : split_commas(text)) {
    const auto policy = core::parse_page_policy(name);
    if (!policy)
      throw UsageError(fmt::format("--pages: unknown page policy '{}' (accepted: 4k, thp, 2m or hugetlb-2m, "
                                   "1g or hugetlb-1g)",
                                   name));
    if (std::find(policies.begin(), policies.end(), *policy) == policies.end()) policies.push_back(*policy);
  }
  if (policies.empty()) throw UsageError("--pages: no page policy named");
  return policies;
}

std::vector<core::EventSpec> parse_counter_list(const std::string& text) {
  std::vector<core::EventSpec> events;
  for (const std::string& name : split_commas(text)) {
    auto encoded = core::encode_event(name);
    if (!encoded) throw UsageError(fmt::format("--counters: {}", encoded.error().reason));
    events.push_back({name, false, "", ""});
  }
  if (events.empty()) throw UsageError("--counters: no event named");
  return events;
}

void check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw UsageError("--out: empty path");
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec)) throw UsageError(fmt::format("--out: '{}' is a directory", path));
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw UsageError(fmt::format("--out: directory '{}' does not exist", dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("--out: directory '{}' is not writable", dir.string()));
}

}  // namespace memprobe::harness
