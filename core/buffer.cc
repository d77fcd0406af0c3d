#include "core/buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "core/system_files.h"
#include "core/units.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it
#endif

namespace memprobe::core {
namespace {

// The PMD size of x86-64 and of arm64 with 4 KiB pages: used only if the
// kernel does not say (no hpage_pmd_size file: a kernel built without THP).
constexpr std::size_t kDefaultThpBytes = 2 * kMiB;

std::optional<std::uint64_t> read_u64_file(const std::string& path) {
  const auto text = read_text_file(path, TextTrim::kAsIs);
  if (!text) return std::nullopt;
  std::uint64_t value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  while (begin != end && (*begin == ' ' || *begin == '\t')) ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || ptr == begin) return std::nullopt;
  return value;
}

}  // namespace

std::size_t base_page_bytes() {
  // sysconf cannot fail for _SC_PAGESIZE on Linux; 4 KiB keeps the type total.
  static const std::size_t bytes = [] {
    const long value = ::sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<std::size_t>(value) : 4 * kKiB;
  }();
  return bytes;
}

std::size_t thp_page_bytes() {
  static const std::size_t bytes = [] {
    const auto value = read_u64_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
    return value && *value > 0 ? static_cast<std::size_t>(*value) : kDefaultThpBytes;
  }();
  return bytes;
}

std::optional<std::size_t> parse_hugepages_dir_name(std::string_view name) {
  constexpr std::string_view kPrefix = "hugepages-";
  constexpr std::string_view kSuffix = "kB";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  std::size_t kib = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), kib);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || kib == 0 ||
      kib > ~std::size_t{0} / kKiB) {
    return std::nullopt;
  }
  return kib * kKiB;
}

std::vector<std::size_t> hugetlb_page_sizes(const std::string& hugepages_dir) {
  std::vector<std::size_t> sizes;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(hugepages_dir, ec)) {
    if (const auto bytes = parse_hugepages_dir_name(entry.path().filename().string())) sizes.push_back(*bytes);
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

namespace {

// The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled.
std::string thp_mode() {
  const auto text = read_text_file("/sys/kernel/mm/transparent_hugepage/enabled", TextTrim::kAsIs);
  if (!text) return "unsupported";
  const auto open = text->find('[');
  const auto close = text->find(']', open);
  if (open == std::string::npos || close == std::string::npos) return "unknown";
  return text->substr(open + 1, close - open - 1);
}

// ENOMEM from mmap under a virtual-memory limit (ulimit -v) is that limit,
// not the machine's memory: say so.
std::string address_space_limit_note() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return {};
  return fmt::format(" (this process's address space is limited to {}: RLIMIT_AS, ulimit -v)",
                     format_bytes(limit.rlim_cur));
}

std::string page_label(std::size_t page_bytes) { return format_bytes(page_bytes); }

// The exact fix for a short hugetlb pool: the flag memprobe offers, or the
// sysfs write (the pool grows by the shortfall, keeping pages others use).
std::string short_pool_reason(std::size_t page_bytes, std::uint64_t need, std::uint64_t available,
                              std::uint64_t total) {
  const std::uint64_t target = total + (need > available ? need - available : 0);
  const bool gib = page_bytes == kGiB;
  std::string reason = fmt::format(
      "{} {} hugetlb pages (need {}, free {}): run memprobe with {} {}, or as root: "
      "echo {} > {}/nr_hugepages",
      available == 0 ? "no free" : "not enough free", page_label(page_bytes), need, available,
      gib ? "--reserve-hugepages-1g" : "--reserve-hugepages", target, target,
      hugetlb_sysfs_path(page_bytes));
  if (gib) reason += " (1 GiB pages are most reliably reserved at boot: hugepagesz=1G hugepages=N)";
  return reason;
}

std::optional<std::uint64_t> hugetlb_available_pages(std::size_t page_bytes) {
  const auto free = hugetlb_free_pages(page_bytes);
  if (!free) return std::nullopt;
  // Reserved-but-not-yet-faulted pages count as free yet belong to other mappings.
  const std::uint64_t reserved = read_u64_file(hugetlb_sysfs_path(page_bytes, "resv_hugepages")).value_or(0);
  return *free - std::min(*free, reserved);
}

std::uint64_t field_kb(std::string_view line) {
  // "AnonHugePages:      8192 kB"
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return 0;
  std::string_view rest = line.substr(colon + 1);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  std::uint64_t value = 0;
  std::from_chars(rest.data(), rest.data() + rest.size(), value);
  return value;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// A VMA header line starts "start-end " with lower-case hex; field lines start
// with a capitalised name ("Size:", "VmFlags:").
bool parse_vma_header(std::string_view line, std::uintptr_t& start, std::uintptr_t& end) {
  const auto dash = line.find('-');
  const auto space = line.find(' ');
  if (dash == std::string_view::npos || space == std::string_view::npos || dash > space) return false;
  const auto r1 = std::from_chars(line.data(), line.data() + dash, start, 16);
  const auto r2 = std::from_chars(line.data() + dash + 1, line.data() + space, end, 16);
  return r1.ec == std::errc{} && r1.ptr == line.data() + dash && r2.ec == std::errc{} &&
         r2.ptr == line.data() + space;
}

struct OverlappingVma {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;
  std::uint64_t overlap_bytes = 0;
  SmapsFields fields;
};

std::optional<std::vector<OverlappingVma>> overlapping_vmas(std::uintptr_t begin, std::uintptr_t end) {
  const auto smaps = read_text_file("/proc/self/smaps", TextTrim::kAsIs);
  if (!smaps) return std::nullopt;
  std::vector<OverlappingVma> found;
  std::string_view text = *smaps;
  std::string_view block;
  OverlappingVma current;
  bool in_range = false;
  auto finish = [&]() {
    if (in_range) {
      current.fields = parse_smaps_fields(block);
      found.push_back(current);
    }
  };
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    const std::size_t consumed = newline == std::string_view::npos ? text.size() : newline + 1;
    std::uintptr_t vma_start = 0;
    std::uintptr_t vma_end = 0;
    if (parse_vma_header(line, vma_start, vma_end)) {
      finish();
      in_range = vma_start < end && vma_end > begin;
      current = OverlappingVma{vma_start, vma_end,
                               in_range ? std::min(vma_end, end) - std::max(vma_start, begin) : 0, {}};
      block = std::string_view(text.data() + consumed, 0);
    } else if (in_range) {
      block = std::string_view(block.data(), static_cast<std::size_t>(text.data() + consumed - block.data()));
    }
    text.remove_prefix(consumed);
  }
  finish();
  return found;
}

// Per huge page of the range, from /proc/self/pagemap (PFNs need
// CAP_SYS_ADMIN) and /proc/kpageflags (root): the first base page is a
// compound head with `flag_bit` set and the last base page is flagged too,
// with the PFN exactly a huge page further on. Counts the chunks that pass;
// nullopt where the files or PFNs are not readable.
struct PagemapCount {
  std::uint64_t chunks = 0;
  std::uint64_t huge_chunks = 0;
};

class Fd {
 public:
  explicit Fd(const char* path) : fd_(::open(path, O_RDONLY | O_CLOEXEC)) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  bool ok() const { return fd_ >= 0; }
  std::optional<std::uint64_t> read_u64_at(std::uint64_t offset) const {
    std::uint64_t value = 0;
    if (::pread(fd_, &value, sizeof value, static_cast<off_t>(offset)) != sizeof value) return std::nullopt;
    return value;
  }

 private:
  int fd_;
};

constexpr int kKpfCompoundHead = 15;  // Documentation/admin-guide/mm/pagemap.rst
constexpr int kKpfHuge = 17;
constexpr int kKpfThp = 22;

std::optional<PagemapCount> pagemap_huge_chunks(std::uintptr_t begin, std::uintptr_t end,
                                                std::size_t chunk_bytes, int flag_bit) {
  const Fd pagemap("/proc/self/pagemap");
  const Fd kpageflags("/proc/kpageflags");
  if (!pagemap.ok() || !kpageflags.ok()) return std::nullopt;
  const std::uint64_t page = base_page_bytes();
  const std::uint64_t pages_per_chunk = chunk_bytes / page;
  auto pfn_of = [&](std::uintptr_t address) -> std::optional<std::uint64_t> {
    const auto entry = pagemap.read_u64_at(address / page * sizeof(std::uint64_t));
    if (!entry) return std::nullopt;
    if (((*entry >> 63) & 1) == 0) return std::uint64_t{0};  // not present: nothing to check
    return *entry & ((std::uint64_t{1} << 55) - 1);
  };
  auto flags_of = [&](std::uint64_t pfn) { return kpageflags.read_u64_at(pfn * sizeof(std::uint64_t)); };

  PagemapCount count;
  const std::uintptr_t first = (begin + chunk_bytes - 1) / chunk_bytes * chunk_bytes;
  for (std::uintptr_t chunk = first; chunk + chunk_bytes <= end; chunk += chunk_bytes) {
    ++count.chunks;
    const auto head_pfn = pfn_of(chunk);
    const auto tail_pfn = pfn_of(chunk + chunk_bytes - page);
    if (!head_pfn || !tail_pfn) return std::nullopt;
    // Present pages read as PFN 0 without CAP_SYS_ADMIN (and a touched page
    // is present): nothing to verify with.
    if (*head_pfn == 0 || *tail_pfn == 0) return std::nullopt;
    const auto head_flags = flags_of(*head_pfn);
    const auto tail_flags = flags_of(*tail_pfn);
    if (!head_flags || !tail_flags) return std::nullopt;
    const bool huge = ((*head_flags >> flag_bit) & 1) && ((*head_flags >> kKpfCompoundHead) & 1) &&
                      ((*tail_flags >> flag_bit) & 1) && *tail_pfn == *head_pfn + pages_per_chunk - 1;
    if (huge) ++count.huge_chunks;
  }
  return count;
}

}  // namespace

std::optional<std::vector<std::uint64_t>> physical_addresses(const std::vector<const void*>& addresses) {
  const Fd pagemap("/proc/self/pagemap");
  if (!pagemap.ok()) return std::nullopt;
  const std::uint64_t page = base_page_bytes();
  std::vector<std::uint64_t> physical;
  physical.reserve(addresses.size());
  for (const void* p : addresses) {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    const auto entry = pagemap.read_u64_at(address / page * sizeof(std::uint64_t));
    if (!entry || ((*entry >> 63) & 1) == 0) return std::nullopt;
    const std::uint64_t pfn = *entry & ((std::uint64_t{1} << 55) - 1);
    if (pfn == 0) return std::nullopt;
    physical.push_back(pfn * page + address % page);
  }
  return physical;
}

std::string_view cli_name(PagePolicy policy) {
  switch (policy) {
    case PagePolicy::k4K: return "4k";
    case PagePolicy::kThp: return "thp";
    case PagePolicy::kHugetlb2M: return "hugetlb-2m";
    case PagePolicy::kHugetlb1G: return "hugetlb-1g";
  }
  return "unknown";
}

std::optional<PagePolicy> parse_page_policy(std::string_view text) {
  for (const PagePolicy policy : kAllPagePolicies) {
    if (text == cli_name(policy)) return policy;
  }
  if (text == "2m") return PagePolicy::kHugetlb2M;
  if (text == "1g") return PagePolicy::kHugetlb1G;
  return std::nullopt;
}

std::size_t requested_page_bytes(PagePolicy policy) {
  switch (policy) {
    case PagePolicy::k4K: return base_page_bytes();
    case PagePolicy::kThp: return thp_page_bytes();
    case PagePolicy::kHugetlb2M: return 2 * kMiB;
    case PagePolicy::kHugetlb1G: return kGiB;
  }
  return base_page_bytes();
}

bool Backing::matches_request() const {
  if (verified != cli_name(requested)) return false;
  // A 4 KiB request is met by 4 KiB pages; a huge request only if all of it is huge.
  return requested == PagePolicy::k4K ? huge_fraction == 0.0 : huge_fraction >= 1.0;
}

SmapsFields parse_smaps_fields(std::string_view vma_block) {
  SmapsFields fields;
  while (!vma_block.empty()) {
    const auto newline = vma_block.find('\n');
    const std::string_view line = vma_block.substr(0, newline);
    vma_block.remove_prefix(newline == std::string_view::npos ? vma_block.size() : newline + 1);
    if (starts_with(line, "Size:")) fields.size_kb = field_kb(line);
    else if (starts_with(line, "Rss:")) fields.rss_kb = field_kb(line);
    else if (starts_with(line, "AnonHugePages:")) fields.anon_huge_kb = field_kb(line);
    else if (starts_with(line, "KernelPageSize:")) fields.kernel_page_kb = field_kb(line);
    else if (starts_with(line, "Private_Hugetlb:")) fields.private_hugetlb_kb = field_kb(line);
    else if (starts_with(line, "Shared_Hugetlb:")) fields.shared_hugetlb_kb = field_kb(line);
  }
  return fields;
}

namespace {

// What the smaps of the VMAs over [begin, end) add up to.
struct VmaTotals {
  std::uint64_t covered_bytes = 0;
  std::uint64_t hugetlb_bytes = 0;
  std::uint64_t thp_bytes = 0;
  std::uint64_t largest_kernel_page_kb = 0;
  std::uint64_t smallest_kernel_page_kb = ~std::uint64_t{0};
  bool vma_extends_beyond = false;
};

VmaTotals sum_vmas(const std::vector<OverlappingVma>& vmas, std::uintptr_t begin, std::uintptr_t end) {
  VmaTotals t;
  for (const OverlappingVma& vma : vmas) {
    t.covered_bytes += vma.overlap_bytes;
    const SmapsFields& f = vma.fields;
    t.largest_kernel_page_kb = std::max(t.largest_kernel_page_kb, f.kernel_page_kb);
    t.smallest_kernel_page_kb = std::min(t.smallest_kernel_page_kb, f.kernel_page_kb);
    if (vma.start < begin || vma.end > end) t.vma_extends_beyond = true;
    // smaps totals are per VMA. When a VMA reaches beyond the range (the
    // kernel merged it with a compatible neighbour), its huge-page total may
    // include memory outside the range: the overlap caps it, which is exact
    // for a VMA that is exactly the range and an upper bound otherwise
    // (pagemap below tightens it where readable).
    t.hugetlb_bytes += std::min<std::uint64_t>((f.private_hugetlb_kb + f.shared_hugetlb_kb) * kKiB,
                                               vma.overlap_bytes);
    t.thp_bytes += std::min<std::uint64_t>(f.anon_huge_kb * kKiB, vma.overlap_bytes);
  }
  return t;
}

std::string approximate_note(const VmaTotals& t) {
  return t.vma_extends_beyond ? " (VMA extends beyond the buffer: upper bound)" : "";
}

// A hugetlb VMA: KernelPageSize is the hugetlb page size.
void classify_hugetlb(const VmaTotals& t, std::uintptr_t begin, std::uintptr_t end, Backing& backing) {
  const std::uint64_t bytes = end - begin;
  const std::size_t page_bytes = t.largest_kernel_page_kb * kKiB;
  std::uint64_t huge_bytes = t.hugetlb_bytes;
  backing.how_verified = fmt::format("smaps KernelPageSize {} kB, Private_Hugetlb+Shared_Hugetlb {}/{} kB{}",
                                     t.largest_kernel_page_kb, t.hugetlb_bytes / kKiB, bytes / kKiB,
                                     approximate_note(t));
  if (const auto pm = pagemap_huge_chunks(begin, end, page_bytes, kKpfHuge)) {
    huge_bytes = std::min<std::uint64_t>(huge_bytes, pm->huge_chunks * page_bytes);
    backing.how_verified += fmt::format("; pagemap+kpageflags {}/{} {} pages HUGE", pm->huge_chunks, pm->chunks,
                                        page_label(page_bytes));
  }
  const bool uniform = t.smallest_kernel_page_kb == t.largest_kernel_page_kb;
  backing.page_bytes = page_bytes;
  backing.huge_fraction = static_cast<double>(huge_bytes) / static_cast<double>(bytes);
  if (huge_bytes >= bytes) backing.huge_fraction = 1.0;
  if (uniform && page_bytes == kGiB) backing.verified = "hugetlb-1g";
  else if (uniform && page_bytes == 2 * kMiB) backing.verified = "hugetlb-2m";
  else backing.verified = "mixed";
}

// A base-page VMA (KernelPageSize stays 4 kB for THP): AnonHugePages counts
// the PMD-mapped THPs.
void classify_base_pages(const VmaTotals& t, std::uintptr_t begin, std::uintptr_t end, Backing& backing) {
  const std::uint64_t bytes = end - begin;
  std::uint64_t huge_bytes = t.thp_bytes;
  backing.how_verified =
      fmt::format("smaps AnonHugePages {}/{} kB{}", t.thp_bytes / kKiB, bytes / kKiB, approximate_note(t));
  if (backing.requested == PagePolicy::kThp) {
    if (const auto pm = pagemap_huge_chunks(begin, end, thp_page_bytes(), kKpfThp)) {
      huge_bytes = std::min<std::uint64_t>(huge_bytes, pm->huge_chunks * thp_page_bytes());
      backing.how_verified += fmt::format("; pagemap+kpageflags {}/{} 2 MiB pages THP", pm->huge_chunks, pm->chunks);
    }
  }
  backing.huge_fraction =
      huge_bytes >= bytes ? 1.0 : static_cast<double>(huge_bytes) / static_cast<double>(bytes);
  const std::size_t small_page_bytes =
      t.largest_kernel_page_kb > 0 ? t.largest_kernel_page_kb * kKiB : base_page_bytes();
  if (huge_bytes == 0) {
    backing.verified = "4k";
    backing.page_bytes = small_page_bytes;
  } else if (huge_bytes >= bytes) {
    backing.verified = "thp";
    backing.page_bytes = thp_page_bytes();
  } else {
    backing.verified = "mixed";
    backing.page_bytes = backing.huge_fraction >= 0.5 ? thp_page_bytes() : small_page_bytes;
  }
  if (backing.requested == PagePolicy::kThp && huge_bytes < bytes)
    backing.how_verified += fmt::format(" (THP enabled={})", thp_mode());
}

}  // namespace

Result<Backing> read_backing(const void* addr, std::size_t bytes, PagePolicy requested) {
  if (bytes == 0) return Unavailable{"cannot read the backing of an empty range"};
  const auto begin = reinterpret_cast<std::uintptr_t>(addr);
  const std::uintptr_t end = begin + bytes;
  const auto vmas = overlapping_vmas(begin, end);
  if (!vmas) return Unavailable{"cannot read /proc/self/smaps: the page backing cannot be verified"};
  const VmaTotals totals = sum_vmas(*vmas, begin, end);
  if (vmas->empty() || totals.covered_bytes < bytes) {
    return Unavailable{fmt::format("cannot verify the backing: {} at {} is not fully mapped",
                                   format_bytes(bytes), addr)};
  }
  Backing backing;
  backing.requested = requested;
  if (totals.largest_kernel_page_kb * kKiB >= 2 * kMiB) classify_hugetlb(totals, begin, end, backing);
  else classify_base_pages(totals, begin, end, backing);
  return backing;
}

std::optional<std::uint64_t> hugetlb_free_pages(std::size_t page_bytes) {
  return read_u64_file(hugetlb_sysfs_path(page_bytes, "free_hugepages"));
}

std::optional<std::uint64_t> hugetlb_total_pages(std::size_t page_bytes) {
  return read_u64_file(hugetlb_sysfs_path(page_bytes, "nr_hugepages"));
}

namespace {

bool is_hugetlb(PagePolicy policy) { return policy == PagePolicy::kHugetlb2M || policy == PagePolicy::kHugetlb1G; }

// Why the pool cannot give `pages_needed` pages now, with what the failing
// call (`what`: "mmap", "populate") said.
std::string pool_failure(std::size_t page_bytes, std::uint64_t pages_needed, const char* what, int error) {
  return short_pool_reason(page_bytes, pages_needed, hugetlb_available_pages(page_bytes).value_or(0),
                           hugetlb_total_pages(page_bytes).value_or(0)) +
         fmt::format(" [{}: {}]", what, errno_text(error));
}

// `bytes` rounded up to whole pages of the policy, or why it cannot be had
// (0 bytes, beyond the address space, a missing or short hugetlb pool).
Result<std::size_t> buffer_size(std::size_t bytes, PagePolicy policy) {
  if (bytes == 0)
    return Unavailable{fmt::format("cannot allocate a 0-byte {} buffer: ask for at least one byte", cli_name(policy))};
  const std::size_t page_bytes = requested_page_bytes(policy);
  if (bytes > ~std::size_t{0} - 2 * page_bytes)
    return Unavailable{fmt::format("cannot allocate {} bytes: larger than the address space", bytes)};
  const std::size_t size_bytes = (bytes + page_bytes - 1) / page_bytes * page_bytes;
  if (!is_hugetlb(policy)) return size_bytes;
  const auto available = hugetlb_available_pages(page_bytes);
  if (!available)
    return Unavailable{fmt::format("this kernel has no {} hugetlb pool ({} does not exist)", page_label(page_bytes),
                                   hugetlb_sysfs_path(page_bytes))};
  if (*available < size_bytes / page_bytes)
    return Unavailable{short_pool_reason(page_bytes, size_bytes / page_bytes, *available,
                                         hugetlb_total_pages(page_bytes).value_or(0))};
  return size_bytes;
}

// Maps size_bytes with the policy, not yet touched: THP 2 MiB-aligned with
// MADV_HUGEPAGE, 4 KiB with MADV_NOHUGEPAGE, hugetlb from its pool.
Result<Mapping> map_buffer(std::size_t size_bytes, PagePolicy policy) {
  const std::size_t page_bytes = requested_page_bytes(policy);
  // THP maps one extra huge page so the buffer can start on a 2 MiB boundary:
  // only then can every 2 MiB of it be one PMD mapping.
  const std::size_t map_bytes = policy == PagePolicy::kThp ? size_bytes + thp_page_bytes() : size_bytes;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (is_hugetlb(policy)) flags |= MAP_HUGETLB | (std::countr_zero(page_bytes) << MAP_HUGE_SHIFT);
  void* map_base = ::mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (map_base == MAP_FAILED) {
    const int error = errno;
    // The pool was drained between the check and the mmap (or a cgroup limit applies).
    if (is_hugetlb(policy) && error == ENOMEM)
      return Unavailable{pool_failure(page_bytes, size_bytes / page_bytes, "mmap", error)};
    return Unavailable{fmt::format("cannot mmap {} bytes ({}) for a {} buffer: {}{}", map_bytes,
                                   format_bytes(map_bytes), cli_name(policy), errno_text(error),
                                   error == ENOMEM ? address_space_limit_note() : std::string())};
  }
  auto* data = static_cast<std::byte*>(map_base);
  if (policy == PagePolicy::kThp) {
    const auto address = reinterpret_cast<std::uintptr_t>(map_base);
    data += (thp_page_bytes() - address % thp_page_bytes()) % thp_page_bytes();
  }
  Mapping mapping(data, size_bytes, map_base, map_bytes);
  // THP: before the first touch, a fault only allocates a THP in a
  // VM_HUGEPAGE range (madvise mode). 4 KiB: keeps THP (and khugepaged's later
  // collapsing) out of 4 KiB experiments. EINVAL means a kernel without THP;
  // the backing check then reports 4 KiB pages.
  if (policy == PagePolicy::kThp || policy == PagePolicy::k4K) {
    const bool huge = policy == PagePolicy::kThp;
    if (::madvise(data, size_bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0 && errno != EINVAL) {
      const int error = errno;
      return Unavailable{fmt::format("cannot madvise({}) a {} buffer: {}",
                                     huge ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE", format_bytes(size_bytes),
                                     errno_text(error))};
    }
  }
  return mapping;
}

// Populates and write-touches every page of the mapping; the reason if the
// kernel cannot give them.
std::optional<std::string> populate_buffer(const Mapping& mapping, PagePolicy policy) {
  std::byte* data = mapping.data();
  const std::size_t size_bytes = mapping.size_bytes();
  // Populate writable in the kernel first: a hugetlb page that cannot be had
  // is then an error here instead of a SIGBUS at the first touch. EINVAL means
  // a kernel before 5.14; the touch loop below does the same job.
  if (::madvise(data, size_bytes, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
    const int error = errno;
    const std::size_t page_bytes = requested_page_bytes(policy);
    if (is_hugetlb(policy)) return pool_failure(page_bytes, size_bytes / page_bytes, "populate", error);
    return fmt::format("cannot populate a {} {} buffer: {}", format_bytes(size_bytes), cli_name(policy),
                       errno_text(error));
  }
  // Write-touch every base page. A page that is only ever read maps the
  // shared zero page (the huge zero page under THP), so a chase over it would
  // hit one cached physical page and look impossibly fast.
  const std::size_t step = base_page_bytes();
  volatile std::byte* touch = data;
  for (std::size_t offset = 0; offset < size_bytes; offset += step) touch[offset] = std::byte{0};
  return std::nullopt;
}

}  // namespace

Result<Buffer> Buffer::allocate(std::size_t bytes, PagePolicy policy) {
  const auto size_bytes = buffer_size(bytes, policy);
  if (!size_bytes) return size_bytes.error();
  auto mapping = map_buffer(*size_bytes, policy);
  if (!mapping) return mapping.error();
  if (auto reason = populate_buffer(*mapping, policy)) return Unavailable{std::move(*reason)};
  auto backing = read_backing(mapping->data(), mapping->size_bytes(), policy);
  if (!backing) return backing.error();
  return Buffer(std::move(*mapping), policy, std::move(backing).value());
}

Result<Buffer> Buffer::allocate_sparse_base_pages(std::size_t bytes, std::size_t touch_stride_bytes) {
  if (touch_stride_bytes == 0 || touch_stride_bytes % base_page_bytes() != 0)
    return Unavailable{fmt::format("cannot touch every {} bytes: the touch stride must be a multiple of the {} page",
                                   touch_stride_bytes, format_bytes(base_page_bytes()))};
  const auto size_bytes = buffer_size(bytes, PagePolicy::k4K);
  if (!size_bytes) return size_bytes.error();
  auto mapping = map_buffer(*size_bytes, PagePolicy::k4K);
  if (!mapping) return mapping.error();
  // Written, never only read: a read-only page maps the shared zero page.
  volatile std::byte* touch = mapping->data();
  for (std::size_t offset = 0; offset < *size_bytes; offset += touch_stride_bytes) touch[offset] = std::byte{0};
  auto backing = read_backing(mapping->data(), mapping->size_bytes(), PagePolicy::k4K);
  if (!backing) return backing.error();
  return Buffer(std::move(*mapping), PagePolicy::k4K, std::move(backing).value());
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_bytes_(std::exchange(other.size_bytes_, 0)),
      map_base_(std::exchange(other.map_base_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (map_base_ != nullptr) ::munmap(map_base_, map_bytes_);
    data_ = std::exchange(other.data_, nullptr);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
    map_base_ = std::exchange(other.map_base_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (map_base_ != nullptr) ::munmap(map_base_, map_bytes_);
}

}  // namespace memprobe::core
