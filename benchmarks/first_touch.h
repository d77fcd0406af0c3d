// The page-fault family's measurement pieces, kept apart so tests can check
// the fault counts: fresh (never touched) mappings per page policy, a file
// whose page cache has been dropped, and the touch loops timed with the TSC
// and counted with the software fault events (minor-faults, major-faults).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/buffer.h"
#include "core/counters.h"
#include "core/result.h"

namespace memprobe::bench {

// One store per `step_bytes` over [data, data + bytes): the first-touch loop
// (a write, so no zero page is mapped). Out of line so its code is the same
// for every caller and can be disassembled by name.
extern "C" void memprobe_touch_pages(std::byte* data, std::size_t bytes, std::size_t step_bytes);
// One load per `step_bytes`; returns the xor of the bytes read so the loads stay.
extern "C" std::uint64_t memprobe_read_pages(const std::byte* data, std::size_t bytes, std::size_t step_bytes);

// A fresh anonymous mapping, never touched: 4k with MADV_NOHUGEPAGE, thp
// 2 MiB-aligned with MADV_HUGEPAGE, hugetlb-2m/1g from the pool (Unavailable
// with core::Buffer's reason, naming --reserve-hugepages, when the pool is
// short). `bytes` is rounded up to the policy's page size. munmaps on destruction.
class FreshMapping {
 public:
  static core::Result<FreshMapping> map(core::PagePolicy policy, std::size_t bytes);

  std::byte* data() const { return mapping_.data(); }
  std::size_t size_bytes() const { return mapping_.size_bytes(); }
  core::PagePolicy policy() const { return policy_; }
  // The page size asked for (4 KiB, 2 MiB, 1 GiB): one fault per such page
  // is expected when the kernel grants it.
  std::size_t page_bytes() const { return core::requested_page_bytes(policy_); }
  std::uint64_t pages() const { return size_bytes() / page_bytes(); }

 private:
  FreshMapping(core::Mapping mapping, core::PagePolicy policy) : mapping_(std::move(mapping)), policy_(policy) {}
  core::Mapping mapping_;
  core::PagePolicy policy_ = core::PagePolicy::k4K;
};

// The hugetlb pages of `page_bytes` that a new mapping can take now (free
// minus reserved-but-unfaulted); 0 if the pool does not exist.
std::uint64_t hugetlb_pages_available(std::size_t page_bytes);

// Software fault counters (user mode: the faults this thread's accesses take)
// for the calling thread.
class FaultCounter {
 public:
  FaultCounter();
  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }  // when !available()
  void start() { group_.start(); }
  void stop() { group_.stop(); }
  // Minor and major faults since start(); nullopt when not counted.
  std::optional<double> minor() const;
  std::optional<double> major() const;
  void read();

 private:
  core::EventGroup group_;
  bool available_ = false;
  std::string reason_;
  std::optional<double> minor_;
  std::optional<double> major_;
};

struct TouchResult {
  std::uint64_t tsc_ticks = 0;
  std::optional<double> minor_faults;  // from the software counter
  std::optional<double> major_faults;
};

// Write-touches one byte per page_bytes of the mapping, timed (TSC) and counted.
TouchResult first_touch(const FreshMapping& mapping, FaultCounter& counter);
// The same over any range and step (tests: plain mmap regions).
TouchResult write_touch(std::byte* data, std::size_t bytes, std::size_t step_bytes, FaultCounter& counter);
// Read-touches one byte per step_bytes (file-backed major faults).
TouchResult read_touch(const std::byte* data, std::size_t bytes, std::size_t step_bytes, FaultCounter& counter);
// Populates the range writable in the kernel (MADV_POPULATE_WRITE, Linux >= 5.14),
// timed and counted: the fault path's work without the trap, so the counter
// (which counts traps) reads 0. Unavailable if the kernel refuses.
core::Result<TouchResult> populate_write(std::byte* data, std::size_t bytes, FaultCounter& counter);

// A directory on a disk-backed file system for the major-fault file: $TMPDIR
// unless it is tmpfs/ramfs, else /var/tmp; Unavailable if neither is on disk.
core::Result<std::string> disk_backed_temp_dir();

// A file of `bytes` (written, fsynced, already unlinked so nothing is left
// behind) whose pages can be dropped from the page cache without root.
class ColdFile {
 public:
  static core::Result<ColdFile> create(std::size_t bytes);
  ColdFile(ColdFile&& other) noexcept;
  ColdFile& operator=(ColdFile&& other) noexcept;
  ColdFile(const ColdFile&) = delete;
  ColdFile& operator=(const ColdFile&) = delete;
  ~ColdFile();

  std::size_t size_bytes() const { return size_bytes_; }
  const std::string& directory() const { return directory_; }
  // posix_fadvise(DONTNEED) over the whole file (clean, unmapped pages
  // leave the page cache). Returns the pages still resident afterwards
  // (mincore), which must be 0 before a major-fault measurement.
  core::Result<std::size_t> evict();
  // Pages of the file in the page cache now (mincore over a fresh mapping).
  core::Result<std::size_t> resident_pages() const;
  // Maps the file PROT_READ, MAP_SHARED, MADV_RANDOM (no readahead: one read
  // per fault). The caller munmaps with unmap().
  core::Result<const std::byte*> map() const;
  void unmap(const std::byte* data) const;

 private:
  ColdFile(int fd, std::size_t size_bytes, std::string directory)
      : fd_(fd), size_bytes_(size_bytes), directory_(std::move(directory)) {}
  int fd_ = -1;
  std::size_t size_bytes_ = 0;
  std::string directory_;
};

}  // namespace memprobe::bench
