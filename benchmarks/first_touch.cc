#include "benchmarks/first_touch.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "core/buffer.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/system_files.h"
#include "core/units.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older headers lack it
#endif

extern "C" __attribute__((noinline)) void memprobe_touch_pages(std::byte* data, std::size_t bytes,
                                                               std::size_t step_bytes) {
  // volatile: each store must happen, exactly once per page, in order.
  volatile std::byte* p = data;
  for (std::size_t offset = 0; offset < bytes; offset += step_bytes) p[offset] = std::byte{1};
}

extern "C" __attribute__((noinline)) std::uint64_t memprobe_read_pages(const std::byte* data, std::size_t bytes,
                                                                       std::size_t step_bytes) {
  const volatile std::byte* p = data;
  std::uint64_t sum = 0;
  for (std::size_t offset = 0; offset < bytes; offset += step_bytes) sum ^= static_cast<std::uint64_t>(p[offset]);
  return sum;
}

namespace memprobe::bench {
namespace {

constexpr std::size_t kThpBytes = 2 * core::kMiB;

std::size_t base_page_bytes() {
  return core::base_page_bytes();
}

bool hugetlb_policy(core::PagePolicy policy) {
  return policy == core::PagePolicy::kHugetlb2M || policy == core::PagePolicy::kHugetlb1G;
}

}  // namespace

std::uint64_t hugetlb_pages_available(std::size_t page_bytes) {
  const std::uint64_t free = core::hugetlb_free_pages(page_bytes).value_or(0);
  const auto reserved = core::read_text_file(core::hugetlb_sysfs_path(page_bytes, "resv_hugepages"));
  std::uint64_t resv = 0;
  if (reserved) resv = std::strtoull(reserved->c_str(), nullptr, 10);
  return free > resv ? free - resv : 0;
}

core::Result<FreshMapping> FreshMapping::map(core::PagePolicy policy, std::size_t bytes) {
  const std::size_t page_bytes = core::requested_page_bytes(policy);
  if (bytes == 0) return core::Unavailable{"cannot map 0 bytes: ask for at least one page"};
  const std::size_t size_bytes = (bytes + page_bytes - 1) / page_bytes * page_bytes;
  const bool hugetlb = hugetlb_policy(policy);
  if (hugetlb && hugetlb_pages_available(page_bytes) < size_bytes / page_bytes) {
    // core::Buffer checks the pool before it maps anything: its reason (with
    // the exact --reserve-hugepages / sysfs fix) is the one to show.
    auto probe = core::Buffer::allocate(size_bytes, policy);
    if (!probe) return probe.error();
    // The pool grew in between: release the probe (untouched by us) and go on.
  }
  const std::size_t map_bytes = policy == core::PagePolicy::kThp ? size_bytes + kThpBytes : size_bytes;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (hugetlb) flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (std::countr_zero(page_bytes) << MAP_HUGE_SHIFT);
  void* base = ::mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (base == MAP_FAILED) {
    const int error = errno;
    return core::Unavailable{fmt::format("cannot mmap {} for {} first-touch: {}", core::format_bytes(map_bytes),
                                         core::cli_name(policy), core::errno_text(error))};
  }
  auto* data = static_cast<std::byte*>(base);
  int advice = -1;
  if (policy == core::PagePolicy::kThp) {
    const auto address = reinterpret_cast<std::uintptr_t>(base);
    data += (kThpBytes - address % kThpBytes) % kThpBytes;
    advice = MADV_HUGEPAGE;  // before the first touch: only then does the fault allocate a THP
  } else if (policy == core::PagePolicy::k4K) {
    advice = MADV_NOHUGEPAGE;  // one fault per 4 KiB page, and no khugepaged collapsing
  }
  if (advice >= 0 && ::madvise(data, size_bytes, advice) != 0 && errno != EINVAL) {
    const int error = errno;
    ::munmap(base, map_bytes);
    return core::Unavailable{fmt::format("cannot madvise a {} mapping: {}", core::cli_name(policy), core::errno_text(error))};
  }
  return FreshMapping(core::Mapping(data, size_bytes, base, map_bytes), policy);
}

FaultCounter::FaultCounter()
    : group_(core::EventGroup::open({core::EventSpec{"minor-faults"}, core::EventSpec{"major-faults"}})) {
  available_ = true;
  for (const core::EventStatus& s : group_.statuses()) {
    if (!s.available) {
      available_ = false;
      reason_ += (reason_.empty() ? "" : "; ") + s.name + ": " + s.reason;
    }
  }
}

void FaultCounter::read() {
  const core::Reading reading = group_.read();
  const auto value = [&](const char* key) -> std::optional<double> {
    const core::EventReading* r = reading.find(key);
    if (r == nullptr || !r->available) return std::nullopt;
    return r->value;
  };
  minor_ = value("minor-faults");
  major_ = value("major-faults");
}

std::optional<double> FaultCounter::minor() const { return minor_; }
std::optional<double> FaultCounter::major() const { return major_; }

namespace {

template <typename Body>
TouchResult timed_counted(FaultCounter& counter, Body body) {
  TouchResult result;
  counter.start();
  const std::uint64_t start = core::tsc_begin();
  body();
  const std::uint64_t end = core::tsc_end();
  counter.stop();
  counter.read();
  result.tsc_ticks = end - start;
  result.minor_faults = counter.minor();
  result.major_faults = counter.major();
  return result;
}

}  // namespace

TouchResult write_touch(std::byte* data, std::size_t bytes, std::size_t step_bytes, FaultCounter& counter) {
  return timed_counted(counter, [&] { memprobe_touch_pages(data, bytes, step_bytes); });
}

TouchResult first_touch(const FreshMapping& mapping, FaultCounter& counter) {
  return write_touch(mapping.data(), mapping.size_bytes(), mapping.page_bytes(), counter);
}

TouchResult read_touch(const std::byte* data, std::size_t bytes, std::size_t step_bytes, FaultCounter& counter) {
  std::uint64_t sum = 0;
  TouchResult r = timed_counted(counter, [&] { sum = memprobe_read_pages(data, bytes, step_bytes); });
  asm volatile("" : : "r"(sum));
  return r;
}

core::Result<TouchResult> populate_write(std::byte* data, std::size_t bytes, FaultCounter& counter) {
  int status = 0;
  int error = 0;
  TouchResult r = timed_counted(counter, [&] {
    status = ::madvise(data, bytes, MADV_POPULATE_WRITE);
    error = errno;
  });
  if (status != 0)
    return core::Unavailable{fmt::format("madvise(MADV_POPULATE_WRITE) failed: {}{}", core::errno_text(error),
                                         error == EINVAL ? " (needs Linux 5.14)" : "")};
  return r;
}

core::Result<std::string> disk_backed_temp_dir() {
  auto on_disk = [](const std::string& dir) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return false;
    return fs.f_type != TMPFS_MAGIC && fs.f_type != RAMFS_MAGIC && ::access(dir.c_str(), W_OK) == 0;
  };
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && *tmpdir != '\0' && on_disk(tmpdir))
    return std::string(tmpdir);
  if (on_disk("/var/tmp")) return std::string("/var/tmp");
  return core::Unavailable{
      "no disk-backed writable directory for the major-fault file: $TMPDIR and /var/tmp are tmpfs, "
      "missing or not writable (set TMPDIR to a directory on disk)"};
}

core::Result<ColdFile> ColdFile::create(std::size_t bytes) {
  auto dir = disk_backed_temp_dir();
  if (!dir) return dir.error();
  std::string path = *dir + "/memprobe-pagefault-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    const int error = errno;
    return core::Unavailable{fmt::format("cannot create a file in {}: {}", *dir, core::errno_text(error))};
  }
  // Unlinked at once: the open descriptor keeps it, and nothing is left
  // behind however the process ends.
  ::unlink(path.c_str());
  ColdFile file(fd, 0, *dir);
  const std::size_t page = base_page_bytes();
  const std::size_t size_bytes = (bytes + page - 1) / page * page;
  // Non-zero contents, so the file has real blocks (no holes to read as zeros).
  std::vector<char> chunk(core::kMiB);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
  for (std::size_t done = 0; done < size_bytes;) {
    const std::size_t n = std::min(chunk.size(), size_bytes - done);
    const ssize_t written = ::write(fd, chunk.data(), n);
    if (written <= 0) {
      const int error = errno;
      return core::Unavailable{fmt::format("cannot write the major-fault file in {}: {}", *dir, core::errno_text(error))};
    }
    done += static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    return core::Unavailable{fmt::format("cannot fsync the major-fault file in {}: {}", *dir, core::errno_text(error))};
  }
  file.size_bytes_ = size_bytes;
  return file;
}

ColdFile::ColdFile(ColdFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      size_bytes_(std::exchange(other.size_bytes_, 0)),
      directory_(std::move(other.directory_)) {}

ColdFile& ColdFile::operator=(ColdFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
    directory_ = std::move(other.directory_);
  }
  return *this;
}

ColdFile::~ColdFile() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<std::size_t> ColdFile::resident_pages() const {
  void* base = ::mmap(nullptr, size_bytes_, PROT_READ, MAP_SHARED, fd_, 0);
  if (base == MAP_FAILED) {
    const int error = errno;
    return core::Unavailable{fmt::format("cannot mmap the major-fault file: {}", core::errno_text(error))};
  }
  const std::size_t page = base_page_bytes();
  std::vector<unsigned char> vec(size_bytes_ / page);
  const int status = ::mincore(base, size_bytes_, vec.data());
  const int error = errno;
  ::munmap(base, size_bytes_);
  if (status != 0) return core::Unavailable{fmt::format("cannot mincore the major-fault file: {}", core::errno_text(error))};
  std::size_t resident = 0;
  for (const unsigned char v : vec) resident += v & 1;
  return resident;
}

core::Result<std::size_t> ColdFile::evict() {
  const int error = ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);  // returns the error, no errno
  if (error != 0) return core::Unavailable{fmt::format("posix_fadvise(DONTNEED) failed: {}", core::errno_text(error))};
  return resident_pages();
}

core::Result<const std::byte*> ColdFile::map() const {
  void* base = ::mmap(nullptr, size_bytes_, PROT_READ, MAP_SHARED, fd_, 0);
  if (base == MAP_FAILED) {
    const int error = errno;
    return core::Unavailable{fmt::format("cannot mmap the major-fault file: {}", core::errno_text(error))};
  }
  // No readahead: otherwise one major fault reads read_ahead_kb of neighbours.
  ::madvise(base, size_bytes_, MADV_RANDOM);
  return static_cast<const std::byte*>(base);
}

void ColdFile::unmap(const std::byte* data) const {
  ::munmap(const_cast<std::byte*>(data), size_bytes_);
}

}  // namespace memprobe::bench
