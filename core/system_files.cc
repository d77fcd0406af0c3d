#include "core/system_files.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/units.h"

namespace memprobe::core {

std::optional<std::string> read_text_file(const std::string& path, TextTrim trim) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string text = contents.str();
  if (trim == TextTrim::kAsIs) return text;
  constexpr const char* kBlanks = " \t\r\n";
  const auto first = text.find_first_not_of(kBlanks);
  if (first == std::string::npos) return std::string();
  const auto last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

std::string hugetlb_sysfs_path(std::size_t page_bytes, std::string_view file) {
  std::string path = fmt::format("/sys/kernel/mm/hugepages/hugepages-{}kB", page_bytes / kKiB);
  if (!file.empty()) (path += '/') += file;
  return path;
}

std::optional<int> read_perf_event_paranoid() { return parse_perf_event_paranoid(read_text_file(kPerfEventParanoidPath)); }

std::string errno_name(int error) {
  if (const char* name = ::strerrorname_np(error)) return name;
  return fmt::format("errno {}", error);
}

std::string errno_text(int error) {
  std::string text = std::error_code(error, std::generic_category()).message();
  if (const char* name = ::strerrorname_np(error)) text += fmt::format(" ({})", name);
  return text;
}

}  // namespace memprobe::core
