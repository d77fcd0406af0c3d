// Memory with a page policy (4 KiB, THP, hugetlb 2 MiB / 1 GiB), every page
// write-touched, and the backing the kernel actually gave, read back from
// /proc/self/smaps. A huge-page figure counts only if that backing is huge.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace memprobe::core {

enum class PagePolicy { k4K, kThp, kHugetlb2M, kHugetlb1G };

inline constexpr std::array<PagePolicy, 4> kAllPagePolicies = {
    PagePolicy::k4K, PagePolicy::kThp, PagePolicy::kHugetlb2M, PagePolicy::kHugetlb1G};

// "4k", "thp", "hugetlb-2m", "hugetlb-1g": the names the CLI, case names and
// results file use.
std::string_view cli_name(PagePolicy policy);

// Accepts the cli_name()s and the short aliases "2m" (hugetlb-2m) and "1g"
// (hugetlb-1g); anything else is nullopt.
std::optional<PagePolicy> parse_page_policy(std::string_view text);

// The page size the policy asks for: the base page (k4K: 4 KiB on x86-64;
// 4, 16 or 64 KiB on arm64), the THP size (kThp), 2 MiB, 1 GiB.
std::size_t requested_page_bytes(PagePolicy policy);

// The system's base page size, sysconf(_SC_PAGESIZE). Never assume 4 KiB.
std::size_t base_page_bytes();
// The THP (PMD) page size, /sys/kernel/mm/transparent_hugepage/hpage_pmd_size:
// 2 MiB on x86-64 and on arm64 with 4 KiB pages, 512 MiB with 64 KiB pages.
std::size_t thp_page_bytes();
// "hugepages-2048kB" -> 2 MiB: the page size of a hugetlb pool directory;
// nullopt for any other name.
std::optional<std::size_t> parse_hugepages_dir_name(std::string_view name);
// The page sizes of the hugetlb pools the kernel offers (the hugepages-<N>kB
// entries of `hugepages_dir`), ascending; empty if there are none. x86-64:
// 2 MiB, 1 GiB; arm64 with 4 KiB pages: 64 KiB, 2 MiB, 32 MiB, 1 GiB; with
// 64 KiB pages: 2 MiB, 512 MiB, 16 GiB.
std::vector<std::size_t> hugetlb_page_sizes(const std::string& hugepages_dir = "/sys/kernel/mm/hugepages");

// What the kernel actually mapped, read back after touching every page.
struct Backing {
  PagePolicy requested = PagePolicy::k4K;
  // "4k", "thp", "hugetlb-2m", "hugetlb-1g", or "mixed" (THP asked, partly obtained).
  std::string verified;
  double huge_fraction = 0.0;  // bytes on huge pages / buffer bytes, 0..1
  std::size_t page_bytes = 0;  // dominant page size obtained
  std::string how_verified;    // e.g. "smaps AnonHugePages 8192/8192 kB"
  // True when the obtained backing is what was requested (THP: huge_fraction == 1).
  bool matches_request() const;
};

// Parses one smaps VMA block (the lines after the header line) for the fields
// memprobe needs. Pure, so tests can feed recorded text.
struct SmapsFields {
  std::uint64_t size_kb = 0;
  std::uint64_t rss_kb = 0;
  std::uint64_t anon_huge_kb = 0;
  std::uint64_t kernel_page_kb = 0;
  std::uint64_t private_hugetlb_kb = 0;
  std::uint64_t shared_hugetlb_kb = 0;
};
SmapsFields parse_smaps_fields(std::string_view vma_block);

// Reads /proc/self/smaps for the VMA(s) covering [addr, addr+bytes) and
// classifies the backing. Unavailable if smaps cannot be read.
Result<Backing> read_backing(const void* addr, std::size_t bytes, PagePolicy requested);

// A mapping this object owns, unmapped on destruction; move-only. data and
// size_bytes: the part in use; the whole mapping (THP maps extra to align) is
// what is unmapped.
class Mapping {
 public:
  Mapping() = default;
  Mapping(std::byte* data, std::size_t size_bytes, void* map_base, std::size_t map_bytes)
      : data_(data), size_bytes_(size_bytes), map_base_(map_base), map_bytes_(map_bytes) {}
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  std::byte* data() const { return data_; }
  std::size_t size_bytes() const { return size_bytes_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_bytes_ = 0;
  void* map_base_ = nullptr;
  std::size_t map_bytes_ = 0;
};

class Buffer {
 public:
  // Maps `bytes` (rounded up to the policy's page size) with the policy,
  // write-touches every page (a read-only page would map the shared zero
  // page and make reads look impossibly fast), then verifies the backing.
  // Unavailable (with the exact command to fix it) when the hugetlb pool is
  // empty/short or the size is 0; never silently falls back to 4 KiB pages.
  static Result<Buffer> allocate(std::size_t bytes, PagePolicy policy);
  // Maps `bytes` of base pages (MADV_NOHUGEPAGE, as allocate's 4 KiB policy)
  // but write-touches only the page at every touch_stride_bytes from the
  // start: for a probe that uses one line per strided slot of a span far
  // larger than it touches (the DTLB stride probe: 64 pages 2 MiB apart span
  // 128 MiB and touch 64 pages). Pages it never touches stay unmapped, so the
  // probe's lines must lie in touched pages. touch_stride_bytes: a multiple
  // of the base page.
  static Result<Buffer> allocate_sparse_base_pages(std::size_t bytes, std::size_t touch_stride_bytes);

  std::byte* data() const { return mapping_.data(); }
  std::size_t size_bytes() const { return mapping_.size_bytes(); }
  std::span<std::byte> bytes() const { return {data(), size_bytes()}; }
  PagePolicy policy() const { return policy_; }
  const Backing& backing() const { return backing_; }

 private:
  Buffer(Mapping mapping, PagePolicy policy, Backing backing)
      : mapping_(std::move(mapping)), policy_(policy), backing_(std::move(backing)) {}
  Mapping mapping_;
  PagePolicy policy_ = PagePolicy::k4K;
  Backing backing_;
};

// The physical address of each of `addresses` (from /proc/self/pagemap), in
// order; nullopt where any cannot be read: not root (the kernel reads PFNs
// as 0 without CAP_SYS_ADMIN), a page not present, no pagemap. In a VM guest
// these are guest-physical addresses, which the host maps again.
std::optional<std::vector<std::uint64_t>> physical_addresses(const std::vector<const void*>& addresses);

// Free pages in the hugetlb pool of that size (reads /sys/kernel/mm/hugepages);
// nullopt if the pool does not exist on this kernel.
std::optional<std::uint64_t> hugetlb_free_pages(std::size_t page_bytes);
std::optional<std::uint64_t> hugetlb_total_pages(std::size_t page_bytes);

}  // namespace memprobe::core
