// Fixed-stride walks at working sets beyond L2 (4x L2) and beyond the LLC
// (4x LLC), stride 8 B .. 16 KiB, next to a random chain at the same working
// set: the per-access cost rises with the stride once the prefetchers stop
// keeping up, and the gap to random shows what they hide. The line size comes
// from the line probe instead (core::build_line_probe_chain): chunks in a
// random cycle, in each a second dependent load offset_bytes below the first;
// the line is the smallest offset whose second load misses L1. Sequential
// strides measure the prefetchers: an adjacent-line prefetcher can hide a
// one-line stride and move the strided jump to two lines.
// Reports ns_per_load and cycles_per_load.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/arena.h"
#include "benchmarks/case_label.h"
#include "benchmarks/family.h"
#include "benchmarks/timed_chase.h"
#include "benchmarks/working_set.h"
#include "core/buffer.h"
#include "core/chain.h"
#include "core/chase.h"
#include "core/clock.h"
#include "core/machine.h"
#include "core/units.h"

namespace memprobe::bench {
namespace {

// Untimed warm-up: a full lap, or this many loads for big sets.
constexpr std::size_t kMaxWarmupLoads = std::size_t{1} << 20;
// A chain node holds one 8-byte pointer: no stride can be smaller.
constexpr std::size_t kMinStrideBytes = 8;
constexpr std::size_t kMaxStrideBytes = 16 * core::kKiB;
// Working sets as multiples of L2 and of the last-level cache.
constexpr std::uint64_t kCacheMultiple = 4;
// Without hwloc cache sizes.
constexpr std::uint64_t kUnknownL1Bytes = 32 * core::kKiB;
constexpr std::uint64_t kUnknownL2Bytes = 1 * core::kMiB;
constexpr std::uint64_t kUnknownLlcBytes = 32 * core::kMiB;

struct StrideSetup : CaseSetup {
  std::size_t arena_bytes = 0;  // the largest working set
};

// A buffer of a family's own (THP when verified, else 4 KiB pages),
// allocated at its first use; a failed allocation is remembered, not retried
// for every case.
class OwnBuffer {
 public:
  core::Result<core::Buffer*> get(std::size_t bytes) {
    if (!buffer_) {
      if (failure_) return *failure_;
      auto buffer = allocate_thp_else_4k(bytes);
      if (!buffer) {
        failure_ = buffer.error();
        return buffer.error();
      }
      buffer_.emplace(std::move(*buffer));
    }
    return &*buffer_;
  }

 private:
  std::optional<core::Buffer> buffer_;
  std::optional<core::Unavailable> failure_;
};

// One buffer for every case, as large as the largest working set: THP when
// the kernel gives verified huge pages (so 4 KiB TLB misses stay out of the
// large-stride points), else 4 KiB pages; the label says which.
class StrideArena {
 public:
  using Prepared = PreparedChain;

  // stride_bytes 0 = the random control.
  core::Result<Prepared*> prepare(std::size_t working_set_bytes, std::size_t stride_bytes, const StrideSetup& setup) {
    auto buffer = buffer_.get(setup.arena_bytes);
    if (!buffer) return buffer.error();
    if (prepared_ && working_set_ == working_set_bytes && stride_ == stride_bytes) return &*prepared_;
    const auto memory = (*buffer)->bytes().first(working_set_bytes);
    Prepared p;
    p.chain = stride_bytes == 0 ? core::build_random_cycle(memory, setup.line_bytes, setup.seed)
                                : core::build_stride_chain(memory, stride_bytes);
    p.backing = &(*buffer)->backing();
    p.position = core::memprobe_chase(p.chain.head, std::min(p.chain.length, kMaxWarmupLoads));
    prepared_ = p;
    working_set_ = working_set_bytes;
    stride_ = stride_bytes;
    return &*prepared_;
  }

 private:
  OwnBuffer buffer_;
  std::optional<Prepared> prepared_;
  std::size_t working_set_ = 0;
  std::size_t stride_ = 0;
};

void stride_case(benchmark::State& state, StrideArena& arena, std::size_t working_set_bytes,
                 std::size_t stride_bytes, const StrideSetup& setup) {
  const StrideArena::Prepared* p =
      chase_prepared(state, arena.prepare(working_set_bytes, stride_bytes, setup), setup.clocks());
  if (!p) return;

  // sequential: every line of the set touched in address order; strided:
  // lines skipped; random: one random cycle over the set's lines.
  const std::string pattern = stride_bytes == 0                      ? "random"
                              : stride_bytes <= setup.line_bytes ? "sequential"
                                                                     : "strided";
  const std::size_t node_bytes = stride_bytes == 0 ? setup.line_bytes : stride_bytes;
  std::map<std::string, std::string> label = with_backing(
      {{"pattern", pattern},
       {"working_set_bytes", std::to_string(working_set_bytes)},
       {"stride_bytes", std::to_string(node_bytes)},
       {"line_bytes", std::to_string(setup.line_bytes)},
       {"lines_touched", std::to_string(working_set_bytes / std::max(node_bytes, setup.line_bytes))},
       {"page", std::string(core::cli_name(p->backing->requested))}},
      *p->backing);
  if (stride_bytes == 0) label["seed"] = std::to_string(p->chain.seed);
  state.SetLabel(format_case_label(label));
}

// The line probe. A chunk holds three blocks of the largest probed line, so
// offsets up to two blocks stay inside it. 768 B is no power of two: the
// chunk tops take every 256 B position within a KiB in turn, so they use
// all the L2 sets their block position allows, where 1 KiB chunks would put
// every top at the same position and use a quarter of them.
constexpr std::size_t kLineProbeChunkBytes = 3 * core::kLineProbeMaxLineBytes;
constexpr std::size_t kLineProbeMinOffsetBytes = 8;
constexpr std::size_t kLineProbeMaxOffsetBytes = 2 * core::kLineProbeMaxLineBytes;
// Each case is one point of a two-level curve whose step is ~1.5x: a short
// repetition (the median of its ~12 us iterations, run_sampled_chase) keeps
// the probe to a few hundred ms.
constexpr double kLineProbeMinTimeS = 0.002;

// How many chunks: the tops all sit in the last line of a 256 B block, so for
// a line of L bytes they use L/256 of the sets, i.e. cache_bytes/256 lines of
// any cache. Twice the L1's worth makes most first loads miss L1; at most
// the L2's worth over 4 keeps first and second lines (2 per chunk, in the
// tops' sets when the offset is a multiple of 256 B) within half of those
// sets, so both loads hit L2 and the step is L1 hit -> L2 hit, not buried in
// the noise of an L3 or DRAM miss. The L2 bound wins where they cross.
std::size_t line_probe_chunks(std::uint64_t l1_bytes, std::uint64_t l2_bytes) {
  const std::uint64_t l1_miss_chunks = 2 * l1_bytes / core::kLineProbeMaxLineBytes;
  const std::uint64_t l2_fit_chunks = l2_bytes / (4 * core::kLineProbeMaxLineBytes);
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, std::min(l1_miss_chunks, l2_fit_chunks)));
}

struct LineProbeSetup : CaseSetup {
  std::size_t chunks = 0;
  std::string sizing = "reported";  // or "measured": where the L1 and L2 sizes came from
};

// Its own small buffer (a few hundred KiB: THP when verified, so the chunks
// share one or two TLB entries), one chain per offset, rebuilt when the
// offset changes.
class LineProbe {
 public:
  core::Result<PreparedChain*> prepare(std::size_t offset_bytes, const LineProbeSetup& setup) {
    auto buffer = buffer_.get(setup.chunks * kLineProbeChunkBytes);
    if (!buffer) return buffer.error();
    if (prepared_ && offset_ == offset_bytes) return &*prepared_;
    PreparedChain p;
    p.chain = core::build_line_probe_chain((*buffer)->bytes(), kLineProbeChunkBytes, offset_bytes, setup.chunks,
                                           setup.seed);
    p.backing = &(*buffer)->backing();
    p.position = core::memprobe_chase(p.chain.head, std::max(p.chain.length, kMaxWarmupLoads / 4));
    prepared_ = p;
    offset_ = offset_bytes;
    return &*prepared_;
  }

 private:
  OwnBuffer buffer_;
  std::optional<PreparedChain> prepared_;
  std::size_t offset_ = 0;
};

void line_probe_case(benchmark::State& state, LineProbe& probe, std::size_t offset_bytes,
                     const LineProbeSetup& setup) {
  const core::Result<PreparedChain*> prepared = probe.prepare(offset_bytes, setup);
  if (!prepared) {
    fail_case(state, prepared.error().reason);
    return;
  }
  PreparedChain* p = *prepared;
  p->position = run_sampled_chase(state, p->position, setup.clocks());
  state.SetLabel(format_case_label(with_backing(
      {{"role", "line_probe"},
       {"offset_bytes", std::to_string(offset_bytes)},
       {"chunk_bytes", std::to_string(kLineProbeChunkBytes)},
       {"chunks", std::to_string(setup.chunks)},
       {"working_set_bytes", std::to_string(setup.chunks * kLineProbeChunkBytes)},
       {"line_bytes", std::to_string(setup.line_bytes)},
       {"sizing", setup.sizing},
       {"seed", std::to_string(p->chain.seed)},
       {"page", std::string(core::cli_name(p->backing->requested))}},
      *p->backing)));
}

std::size_t register_stride(const core::Machine& machine, const CaseOptions& options) {
  StrideSetup setup{case_setup(machine, options)};

  const std::vector<std::uint64_t> cache_sizes = sizing_cache_bytes(machine, options);
  std::uint64_t l2_bytes = cache_sizes.size() >= 2 ? cache_sizes[1] : 0;
  if (l2_bytes == 0) l2_bytes = kUnknownL2Bytes;
  std::uint64_t llc_bytes = sizing_llc_bytes(machine, options);
  if (llc_bytes == 0) llc_bytes = kUnknownLlcBytes;
  std::vector<std::uint64_t> working_sets = {kCacheMultiple * l2_bytes, kCacheMultiple * llc_bytes};
  if (options.max_working_set_bytes > 0)  // --max-working-set caps both (the label records the size)
    for (std::uint64_t& ws : working_sets) ws = std::min(ws, options.max_working_set_bytes);
  std::sort(working_sets.begin(), working_sets.end());
  working_sets.erase(std::unique(working_sets.begin(), working_sets.end()), working_sets.end());
  setup.arena_bytes = working_sets.back();

  std::vector<std::size_t> strides;
  if (options.quick) {
    // Enough to show the line: below, at and above it, and a page.
    strides = {kMinStrideBytes, setup.line_bytes / 2, setup.line_bytes, 2 * setup.line_bytes,
               8 * setup.line_bytes, 4 * core::kKiB};
  } else {
    for (std::size_t s = kMinStrideBytes; s <= kMaxStrideBytes; s *= 2) strides.push_back(s);
  }
  std::sort(strides.begin(), strides.end());
  strides.erase(std::unique(strides.begin(), strides.end()), strides.end());
  strides.push_back(0);  // the random control, last

  // The buffer lives as long as these cases.
  auto arena = std::make_shared<StrideArena>();
  CaseRegistrar cases(options, benchmark::kMicrosecond);
  for (const std::uint64_t ws : working_sets)
    for (const std::size_t stride : strides)
      cases.add(stride == 0 ? fmt::format("stride/{}/random", compact_bytes(ws))
                            : fmt::format("stride/{}/stride:{}", compact_bytes(ws), stride),
                [arena, ws, stride, setup](benchmark::State& state) {
                  stride_case(state, *arena, ws, stride, setup);
                });

  LineProbeSetup probe_setup{case_setup(machine, options)};
  const std::uint64_t l1_bytes = !cache_sizes.empty() && cache_sizes[0] > 0 ? cache_sizes[0] : kUnknownL1Bytes;
  probe_setup.chunks = line_probe_chunks(l1_bytes, l2_bytes);
  probe_setup.sizing = sizing_source(options);
  auto probe = std::make_shared<LineProbe>();
  const auto probe_bytes = static_cast<std::uint64_t>(probe_setup.chunks * kLineProbeChunkBytes);
  for (std::size_t offset = kLineProbeMinOffsetBytes; offset <= kLineProbeMaxOffsetBytes; offset *= 2) {
    const std::string name = fmt::format("stride/line_probe/offset:{}", offset);
    // Fewer chunks would let the first loads hit L1 and shrink the step the
    // probe reads: below its size the probe is left out, with the reason.
    if (options.max_working_set_bytes > 0 && probe_bytes > options.max_working_set_bytes) {
      cases.skip(name, cap_skip_reason("the line probe", probe_bytes, options));
      continue;
    }
    benchmark::internal::Benchmark* b = cases.add(name, [probe, offset, probe_setup](benchmark::State& state) {
      line_probe_case(state, *probe, offset, probe_setup);
    });
    if (options.min_time_s > 0) b->MinTime(std::min(options.min_time_s, kLineProbeMinTimeS));
  }
  return cases.count();
}

}  // namespace

MEMPROBE_FAMILY_OWN_PAGES(stride,
                          "fixed-stride walks beyond L2 and the LLC (what the prefetchers hide) and the line probe "
                          "(line size)",
                          register_stride);

}  // namespace memprobe::bench
