// Associativity: k lines one way stride apart (all in one set of a cache
// level) chased in a random cycle, k from 1 to beyond the level's reported
// ways, at candidate strides around the reported way stride (size / ways), so
// a wrong reported figure is found rather than trusted; and, for the data
// TLBs, k base pages s pages apart (one line each, offsets rotated within the
// page so the caches see no stride), k swept per stride s with a
// same-footprint reference: the reach as a function of s gives sets and ways.
// The analysis (analysis/families/assoc.cc) reads the knees.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/latency_chain.h"
#include "benchmarks/sweep.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/tlb_reference.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// A probe point is k lines: a few thousand loads resolve a step of a
// nanosecond, so each repetition is a fixed count of loads (no Google
// Benchmark ramp-up), and the family's cost is its repetitions, not memory.
constexpr std::size_t kAssocLoadsPerIteration = 1024;
// 128 Ki loads: 0.2 ms at L1 latency (a timer tick or a preemption then
// spoils one repetition of three, not every one), < 2 ms at L3 latency. In
// 4 iterations of 32 Ki loads: between iterations the benchmark loop touches
// its own stack lines, and where one of them falls in the probed set (the
// stack's page offset is random per process) it takes a way from the k
// lines on every iteration; this rarely, it costs a few misses per 32 Ki loads.
constexpr std::size_t kCacheLoadsPerIteration = 32768;
constexpr benchmark::IterationCount kCacheIterations = 4;
constexpr benchmark::IterationCount kTlbIterations = 32;  // 32 Ki loads: ~1 ms where every load walks
constexpr int kAssocRepetitions = 3;
// The lines of each stride slot the cache probes use (of 64 in a 4 KiB
// page), one curve each: something else of this process, or of an SMT
// sibling, that keeps lines of one set warm takes ways of that set only, so
// the analysis reads each k at the least disturbed set.
constexpr std::size_t kProbeSetLines[] = {37, 13};
// Reported ways when hwloc knows none: as many as any level has had.
constexpr int kUnknownWays = 16;
// One probe buffer at most this large (stride x lines): a level whose way
// stride asks for more is reported unmeasured with the size it would need.
constexpr std::uint64_t kMaxCacheProbeBytes = 256 * core::kMiB;
// DTLB strides up to this many pages (quick: every other one): past the set
// count of any L2 DTLB or STLB documented so far (Intel 128-256 sets, AMD 256).
constexpr std::uint64_t kMaxStridePages = 512;
// Without a measured figure, the stride sweep is sized for at least these
// DTLB entry counts (CPUID's may be a guest's invention: bhyve reports 128
// L2 entries on a Zen 5 whose L2 DTLB holds 4096).
constexpr std::uint64_t kUnmeasuredL1Entries = 64;
constexpr std::uint64_t kUnmeasuredL2Entries = 4096;

std::uint64_t floor_pow2(std::uint64_t v) { return v ? std::bit_floor(v) : 0; }

// The lines of a level's k sweep: every k up to 4 past the reported ways, then
// a few beyond (a reported figure that is low by up to 2x is still found).
std::vector<std::uint64_t> cache_line_counts(int ways) {
  std::vector<std::uint64_t> counts;
  const auto w = static_cast<std::uint64_t>(ways);
  for (std::uint64_t k = 1; k <= w + 4; ++k) counts.push_back(k);
  for (const std::uint64_t k : {w + 6, w + 8, w * 3 / 2, 2 * w, 2 * w + 4})
    if (k > w + 4 && (counts.empty() || k > counts.back())) counts.push_back(k);
  return counts;
}

struct AssocSetup : CaseSetup {
  std::size_t base_page_bytes = 4096;
};

// One buffer per probe (level and stride, or DTLB stride), replaced by the
// next probe's: cases of one probe run consecutively.
struct ProbeSlot {
  std::string key;
  std::optional<core::Buffer> buffer;
  std::optional<core::Unavailable> failure;
  PreparedChain prepared;
  std::uint64_t chain_point = 0;

  // The buffer of probe `probe_key`, made by `allocate` when the probe
  // changes (the previous probe's buffer freed first); nullptr after failing
  // the case with the reason.
  template <class Allocate>
  core::Buffer* buffer_for(benchmark::State& state, const std::string& probe_key, Allocate allocate) {
    if (key != probe_key) {
      prepared = {};
      buffer.reset();
      failure.reset();
      key = probe_key;
      auto made = allocate();
      if (made) buffer.emplace(std::move(*made));
      else failure = made.error();
    }
    if (!buffer) {
      fail_case(state, failure ? failure->reason : "no buffer");
      return nullptr;
    }
    return &*buffer;
  }

  // Times the chain `build` makes over the buffer (rebuilt and warmed when
  // the case's point `point` changes: its k), resuming where the last
  // repetition stopped.
  template <class Build>
  void chase(benchmark::State& state, std::uint64_t point, Build build, const ChaseClocks& clocks,
             std::size_t loads_per_iteration = kAssocLoadsPerIteration) {
    if (!prepared.chain.head || chain_point != point) {
      chain_point = point;
      prepared.chain = build();
      prepared.backing = &buffer->backing();
      prepared.position = warm_up_chain(prepared.chain);
    }
    prepared.position = run_timed_chase(state, prepared.position, clocks, loads_per_iteration);
  }
};

struct AssocArenas {
  ProbeSlot probe;
  ReferenceArena reference;
};

// The pages a cache probe gets: a hugetlb pool that holds the buffer (2 MiB
// pages are physically contiguous), else verified THP, else 4 KiB pages.
core::Result<core::Buffer> contiguous_buffer(std::size_t bytes) {
  const std::size_t huge_bytes = core::requested_page_bytes(core::PagePolicy::kHugetlb2M);
  const auto free_pages = core::hugetlb_free_pages(huge_bytes).value_or(0);
  if (free_pages * huge_bytes >= bytes) {
    auto hugetlb = core::Buffer::allocate(bytes, core::PagePolicy::kHugetlb2M);
    if (hugetlb) return hugetlb;
  }
  return allocate_thp_else_4k(bytes);
}

void cache_case(benchmark::State& state, ProbeSlot& slot, const std::string& level, bool contiguous,
                std::uint64_t stride_bytes, std::size_t set_line, std::uint64_t lines, std::uint64_t max_lines,
                int reported_ways, const AssocSetup& setup) {
  const core::Buffer* buffer = slot.buffer_for(state, fmt::format("cache/{}/{}", level, stride_bytes), [&] {
    const std::size_t bytes = (max_lines + 1) * stride_bytes;
    return contiguous ? contiguous_buffer(bytes) : core::Buffer::allocate(bytes, core::PagePolicy::k4K);
  });
  if (!buffer) return;
  slot.chase(
      state, lines * 1000 + set_line,
      [&] {
        // Every line at the same offset of its stride slot, away from offset
        // 0: the start of each page is where the rest of the process (stacks,
        // allocator headers) keeps its own lines, which would take ways of the
        // probed set.
        const std::size_t offset = set_line * setup.line_bytes % stride_bytes;
        return core::build_strided_cycle(buffer->bytes().subspan(offset), stride_bytes, lines, setup.line_bytes, 0,
                                         setup.seed);
      },
      setup.clocks(), kCacheLoadsPerIteration);
  // As root: do the lines' physical addresses (guest-physical in a VM) fall
  // in one set of any level this stride is a way stride of? The evidence
  // where a physically indexed level shows no conflict.
  std::map<std::string, std::string> physical;
  if (slot.prepared.chain.head) {
    std::vector<const void*> nodes;
    for (const std::byte* p : core::walk_chain(slot.prepared.chain.head, lines)) nodes.push_back(p);
    if (const auto addresses = core::physical_addresses(nodes)) {
      const bool one_set = std::all_of(addresses->begin(), addresses->end(), [&](std::uint64_t a) {
        return a % stride_bytes == addresses->front() % stride_bytes;
      });
      physical["physical_one_set"] = one_set ? "yes" : "no";
    }
  }
  std::map<std::string, std::string> fields = {{"role", "cache"},
                                                {"level", level},
                                                {"stride_bytes", std::to_string(stride_bytes)},
                                                {"lines", std::to_string(lines)},
                                                {"set_line", std::to_string(set_line)},
                                                {"reported_ways", std::to_string(reported_ways)},
                                                {"line_bytes", std::to_string(setup.line_bytes)},
                                                {"seed", std::to_string(slot.prepared.chain.seed)}};
  fields.merge(physical);
  state.SetLabel(format_case_label(with_backing(std::move(fields), *slot.prepared.backing)));
}

void tlb_stride_case(benchmark::State& state, ProbeSlot& slot, std::uint64_t stride_pages, std::uint64_t pages,
                     std::uint64_t max_pages, const AssocSetup& setup) {
  const std::size_t stride_bytes = stride_pages * setup.base_page_bytes;
  // Only the strided pages are touched: at 512 pages apart the span is 2 MiB
  // per line, of which one page is ever mapped.
  const core::Buffer* buffer = slot.buffer_for(state, fmt::format("tlb/{}", stride_pages), [&] {
    return core::Buffer::allocate_sparse_base_pages(max_pages * stride_bytes, stride_bytes);
  });
  if (!buffer) return;
  slot.chase(
      state, pages,
      [&] {
        return core::build_strided_cycle(buffer->bytes(), stride_bytes, pages, setup.line_bytes, setup.base_page_bytes,
                                         setup.seed);
      },
      setup.clocks());
  state.SetLabel(format_case_label(with_backing({{"role", "tlb"},
                                                  {"page", "4k"},
                                                  {"stride_pages", std::to_string(stride_pages)},
                                                  {"pages", std::to_string(pages)},
                                                  {"line_bytes", std::to_string(setup.line_bytes)},
                                                  {"seed", std::to_string(slot.prepared.chain.seed)}},
                                                 *slot.prepared.backing)));
}

// The DTLB ways where the stride sweep cannot show them (an L2 DTLB with
// fewer ways than the L1 DTLB has entries hides behind it at every stride
// past its set count): k pages in each of several sets, a set's pages
// kMaxStridePages apart (past any documented set count: one set), the sets at
// even page numbers and filler pages at odd ones (other sets), so that the
// chain always spans twice the L1 DTLB's entries: the L1 misses on nearly
// every load and the L2 decides, a hit while k <= its ways, a walk past them.
// Probed twice, with 4 and with 8 sets: a set's ways give a rise at the same
// k per set in both, a capacity shared by all the pages at the same total.
constexpr std::uint64_t kWaysProbeSetCounts[] = {4, 8};

struct WaysProbeShape {
  std::uint64_t sets = 0;
  std::uint64_t pages_per_set = 0;
  std::uint64_t filler_pages = 0;
};

WaysProbeShape ways_probe_shape(std::uint64_t sets, std::uint64_t pages_per_set, std::uint64_t l1_entries) {
  const std::uint64_t probe_pages = sets * pages_per_set;
  // Odd page numbers below the stride: at most kMaxStridePages / 2 fillers.
  const std::uint64_t filler = probe_pages >= 2 * l1_entries ? 0 : 2 * l1_entries - probe_pages;
  return {sets, pages_per_set, std::min(filler, kMaxStridePages / 2)};
}

// Each node at its own line of its page (rotated), so the data stays in the
// L1 cache and only the TLB sees the placement.
std::vector<std::size_t> ways_probe_offsets(const WaysProbeShape& shape, std::size_t page_bytes, std::size_t line_bytes) {
  std::vector<std::size_t> offsets;
  const std::size_t lines_per_page = page_bytes / line_bytes;
  const auto add = [&](std::uint64_t page) {
    offsets.push_back(page * page_bytes + (offsets.size() % lines_per_page) * line_bytes);
  };
  for (std::uint64_t set = 0; set < shape.sets; ++set)
    for (std::uint64_t i = 0; i < shape.pages_per_set; ++i) add(2 * set + i * kMaxStridePages);
  for (std::uint64_t j = 0; j < shape.filler_pages; ++j) add(2 * j + 1);
  return offsets;
}

void tlb_ways_case(benchmark::State& state, ProbeSlot& slot, const WaysProbeShape& shape, std::uint64_t max_pages_per_set,
                   const AssocSetup& setup) {
  const std::size_t stride_bytes = kMaxStridePages * setup.base_page_bytes;
  // The probe's own writes fault in the pages it uses; only these are touched here.
  const core::Buffer* buffer = slot.buffer_for(state, fmt::format("tlb-ways/{}", shape.sets), [&] {
    return core::Buffer::allocate_sparse_base_pages(max_pages_per_set * stride_bytes, stride_bytes);
  });
  if (!buffer) return;
  const std::vector<std::size_t> offsets = ways_probe_offsets(shape, setup.base_page_bytes, setup.line_bytes);
  slot.chase(state, shape.pages_per_set, [&] { return core::build_cycle_at(buffer->bytes(), offsets, setup.seed); },
             setup.clocks());
  state.SetLabel(format_case_label(with_backing({{"role", "tlb_ways"},
                                                  {"page", "4k"},
                                                  {"stride_pages", std::to_string(kMaxStridePages)},
                                                  {"sets_probed", std::to_string(shape.sets)},
                                                  {"pages_per_set", std::to_string(shape.pages_per_set)},
                                                  {"filler_pages", std::to_string(shape.filler_pages)},
                                                  {"line_bytes", std::to_string(setup.line_bytes)},
                                                  {"seed", std::to_string(slot.prepared.chain.seed)}},
                                                 *slot.prepared.backing)));
}

void reference_case(benchmark::State& state, AssocArenas& arenas, std::size_t max_bytes, std::size_t pages,
                    const AssocSetup& setup, std::size_t group_pages) {
  arenas.probe = {};  // the strided probes are done: give their memory back
  const ReferenceArena::Prepared* p = chase_prepared(
      state, arenas.reference.prepare(max_bytes, pages, setup.line_bytes, group_pages, setup.seed), setup.clocks());
  if (!p) return;
  state.SetLabel(format_case_label(reference_label(*p, pages, setup.line_bytes, {{"role", "reference"}})));
}

// "L1", "L2", ...: the latency family's level names for the data caches.
std::string level_name(const core::CacheLevel& cache) { return fmt::format("L{}", cache.level); }

void register_cache_probes(CaseRegistrar& cases, const core::Machine& machine, const CaseOptions& options,
                           const AssocSetup& setup, const std::shared_ptr<AssocArenas>& arenas) {
  for (const core::CacheLevel& cache : machine.topology.data_caches()) {
    const std::string level = level_name(cache);
    const int ways = cache.ways > 0 ? cache.ways : kUnknownWays;
    if (cache.ways < 0) {
      cases.skip(fmt::format("assoc/cache/{}/skipped", level),
                 fmt::format("{}: hwloc reports it fully associative: no way stride to probe", level));
      continue;
    }
    // The reported way stride, rounded down to a power of two (a 48 KiB
    // 12-way L1 has 4 KiB ways; an odd size leaves the index's power-of-two part).
    const std::uint64_t way_stride = floor_pow2(cache.size_bytes / static_cast<std::uint64_t>(ways));
    if (way_stride < 2 * setup.line_bytes) continue;
    // The first level is virtually indexed inside the page offset on every
    // core that has a 4 KiB-way L1 (VIPT): base pages suffice. Outer levels
    // are physically indexed: they get the most contiguous pages there are.
    const bool first_level = cache.level == 1;
    std::vector<std::uint64_t> strides = {way_stride, 2 * way_stride};
    if (first_level && !options.quick) strides.insert(strides.begin(), way_stride / 2);
    const std::vector<std::uint64_t> lines = cache_line_counts(ways);
    for (const std::uint64_t stride : strides) {
      const std::uint64_t bytes = lines.back() * stride;
      if (bytes > kMaxCacheProbeBytes) {
        cases.skip(fmt::format("assoc/cache/{}/stride:{}/skipped", level, stride),
                   fmt::format("{}: at {} stride {} lines need a {} buffer, more than the probe's {} limit "
                               "(reported {} {}-way)",
                               level, core::format_bytes(stride), lines.back(), core::format_bytes(bytes),
                               core::format_bytes(kMaxCacheProbeBytes), core::format_bytes(cache.size_bytes), ways));
        continue;
      }
      // --quick: the first set line only (a disturbed set then reads fewer
      // ways, and its gradual step says so).
      const std::size_t set_lines = options.quick ? 1 : std::size(kProbeSetLines);
      for (std::size_t line_index = 0; line_index < set_lines; ++line_index)
        for (const std::uint64_t k : lines) {
          const std::size_t set_line = kProbeSetLines[line_index];
          cases
              .add(fmt::format("assoc/cache/{}/stride:{}/set_line:{}/lines:{}", level, compact_bytes(stride), set_line,
                               k),
                   [arenas, level, first_level, stride, set_line, k, max_lines = lines.back(), ways = cache.ways,
                    setup](benchmark::State& state) {
                     cache_case(state, arenas->probe, level, !first_level, stride, set_line, k, max_lines, ways,
                                setup);
                   })
              ->Iterations(kCacheIterations);
        }
    }
  }
}

// CPUID's 4 KiB DTLB entries of a level; 0 if it reports none.
std::uint64_t reported_tlb_entries(const core::Machine& machine, int level) {
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.level == level && tlb.kind != "instruction" && tlb.page_bytes == core::base_page_bytes() && tlb.entries)
      return *tlb.entries;
  return 0;
}

void register_tlb_probes(CaseRegistrar& cases, const core::Machine& machine, const CaseOptions& options,
                         const AssocSetup& setup, const std::shared_ptr<AssocArenas>& arenas) {
  std::uint64_t l1_entries = options.measured.l1_dtlb_entries_4k;
  if (!l1_entries) l1_entries = std::max(reported_tlb_entries(machine, 1), kUnmeasuredL1Entries);
  std::uint64_t l2_entries = options.measured.l2_dtlb_entries_4k;
  if (!l2_entries) l2_entries = std::max(reported_tlb_entries(machine, 2), kUnmeasuredL2Entries);
  std::vector<std::uint64_t> reference_pages;
  for (std::uint64_t stride = 2; stride <= kMaxStridePages; stride *= 2) {
    // --quick: strides 4, 16, 64, 256 (a halving per stride doubling shows
    // as a quartering).
    if (options.quick && std::countr_zero(stride) % 2 == 1) continue;
    // Up to 4x the larger reach a level can have at this stride (the level's
    // knee is read an octave past its plateau), from 2 pages (a 4-way L1
    // DTLB holds 4 pages of one set).
    const std::uint64_t top = 4 * std::max(l1_entries, l2_entries / stride);
    // Dense around where each level's knee is expected: the L1 entries (a
    // fully associative L1 keeps them at any stride) and the L2 entries / s.
    std::vector<std::uint64_t> anchors = {l1_entries};
    if (l2_entries / stride >= 2) anchors.push_back(l2_entries / stride);
    // Two points per octave with --quick too: one per octave places a
    // 96-entry knee between 64 and 128 and loses the L2 hit's small step.
    std::vector<std::uint64_t> pages = log_sweep(2, top, 2, anchors, 1);
    for (const std::uint64_t n : pages) {
      cases
          .add(fmt::format("assoc/tlb/4k/stride_pages:{}/pages:{}", stride, n),
               [arenas, stride, n, max_pages = pages.back(), setup](benchmark::State& state) {
                 tlb_stride_case(state, arenas->probe, stride, n, max_pages, setup);
               })
          ->Iterations(kTlbIterations);
      reference_pages.push_back(n);
    }
  }
  // The ways probe: k per set up to twice CPUID's L2 ways (16 if it names
  // none) plus 4, so a figure that is low by half is still found.
  int reported_ways = 0;
  for (const core::TlbLevel& tlb : machine.tlbs)
    if (tlb.level == 2 && tlb.kind != "instruction" && tlb.page_bytes == core::base_page_bytes() && tlb.ways > 0)
      reported_ways = tlb.ways;
  for (const std::uint64_t sets : kWaysProbeSetCounts) {
    // Past a capacity shared by the pages too (the chain spans 2x the L1
    // entries until the probe's own pages outnumber them).
    const std::uint64_t max_per_set = std::max<std::uint64_t>(
        2 * static_cast<std::uint64_t>(reported_ways > 0 ? reported_ways : 16) + 4, 2 * l1_entries / sets + 8);
    for (std::uint64_t k = 1; k <= max_per_set; ++k) {
      const WaysProbeShape shape = ways_probe_shape(sets, k, l1_entries);
      cases
          .add(fmt::format("assoc/tlb/4k/ways/sets:{}/pages_per_set:{}", sets, k),
               [arenas, shape, max_per_set, setup](benchmark::State& state) {
                 tlb_ways_case(state, arenas->probe, shape, max_per_set, setup);
               })
          ->Iterations(kTlbIterations);
    }
  }
  // Huge pages: the stride probe would touch one huge page per probed page
  // (k pages s pages apart: GiBs at the strides that show the sets).
  for (const core::PagePolicy policy : options.policies)
    if (policy != core::PagePolicy::k4K)
      cases.skip(fmt::format("assoc/tlb/{}/skipped", core::cli_name(policy)),
                 fmt::format("DTLB sets and ways on {} pages are not probed: each probed page is a whole {} page, "
                             "and the strides that show the sets need GiBs of them (base pages only)",
                             core::cli_name(policy), core::format_bytes(core::requested_page_bytes(policy))));
  std::sort(reference_pages.begin(), reference_pages.end());
  reference_pages.erase(std::unique(reference_pages.begin(), reference_pages.end()), reference_pages.end());
  if (reference_pages.empty()) return;
  const std::size_t reference_bytes = reference_pages.back() * setup.line_bytes;
  const std::size_t group_pages = page_group_pages(machine);
  for (const std::uint64_t n : reference_pages)
    cases
        .add(fmt::format("assoc/tlb/reference/pages:{}", n),
             [arenas, reference_bytes, n, setup, group_pages](benchmark::State& state) {
               reference_case(state, *arenas, reference_bytes, n, setup, group_pages);
             })
        ->Iterations(kTlbIterations);
}

std::size_t register_assoc(const core::Machine& machine, const CaseOptions& options) {
  CaseOptions assoc_options = options;
  if (assoc_options.repetitions > 0) assoc_options.repetitions = kAssocRepetitions;
  // Every case runs a fixed count of loads (Iterations), which Google
  // Benchmark refuses next to a minimum time.
  assoc_options.min_time_s = 0;
  CaseRegistrar cases(assoc_options, benchmark::kNanosecond);
  AssocSetup setup{case_setup(machine, options)};
  setup.base_page_bytes = core::base_page_bytes();
  auto arenas = std::make_shared<AssocArenas>();
  register_cache_probes(cases, machine, options, setup, arenas);
  register_tlb_probes(cases, machine, options, setup, arenas);
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(assoc,
                          "associativity: k lines one way stride apart per cache level, k pages s pages apart per "
                          "DTLB level: ways, sets, and where they are not visible",
                          register_assoc);

}  // namespace memprobe::bench
