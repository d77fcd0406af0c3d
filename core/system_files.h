// The kernel's text files memprobe reads (procfs, sysfs) and errno as text:
// one reader for every layer, so each file is found and parsed one way.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace memprobe::core {

// Whether read_text_file strips leading and trailing blanks and newlines:
// a one-value sysfs file wants them gone, a multi-line file (smaps) as is.
enum class TextTrim { kTrimmed, kAsIs };

// The whole file; nullopt if it cannot be opened or read.
std::optional<std::string> read_text_file(const std::string& path, TextTrim trim = TextTrim::kTrimmed);

// The sysfs directory of the hugetlb pool of `page_bytes` pages
// ("/sys/kernel/mm/hugepages/hugepages-2048kB"), or a file in it when `file`
// is given ("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").
std::string hugetlb_sysfs_path(std::size_t page_bytes, std::string_view file = {});

// A file's whole (trimmed) text as a number: "4096" -> 4096; nullopt when
// there is no text or anything but the number is in it.
template <typename T>
std::optional<T> parse_number(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  T value{};
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

inline constexpr const char* kPerfEventParanoidPath = "/proc/sys/kernel/perf_event_paranoid";

// kernel.perf_event_paranoid (-1 .. 4) from the file's text; nullopt
// without perf events (no file) or when it is not a number.
inline std::optional<int> parse_perf_event_paranoid(const std::optional<std::string>& text) {
  return parse_number<int>(text);
}
// The same, read from this machine's kPerfEventParanoidPath.
std::optional<int> read_perf_event_paranoid();

// "ENOMEM"; "errno 4095" for a number the C library does not name.
std::string errno_name(int error);

// "Cannot allocate memory (ENOMEM)": the message for people, the name for searches.
std::string errno_text(int error);

}  // namespace memprobe::core
