// core/counters: every default event of every PMU table encodes to the
// perf_event_attr type and config its vendor documents, on any machine.
//
// libpfm4 picks its core PMU once, in pfm_initialize(), from CPUID or from
// the LIBPFM_FORCE_PMU environment variable. Each forced PMU is therefore
// encoded in a forked child that re-initialises libpfm4 with the variable
// set and reports its encodings through a pipe; a fork (not an exec) also
// works under qemu-user, where the test binary cannot exec itself.
//
// The expected configs are written as the vendor documents them, (event,
// unit mask[, counter mask]), and laid out as the kernel hands them to the
// counter's event-select register (the "cpu" PMU's format directory:
// event=config:0-7 (AMD also 32-35), umask=config:8-15, cmask=config:24-31):
//   Intel SDM Vol. 3B, "Architectural Performance Monitoring", IA32_PERFEVTSELx
//     layout: EventSelect [7:0], UMask [15:8], CMask [31:24].
//   AMD PPR (e.g. 55898 Rev 0.50, Zen 4), Core::X86::Msr::PERF_CTL:
//     EventSelect[7:0] at [7:0], UnitMask [15:8], EventSelect[11:8] at [35:32].
#include "core/counters.h"

#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/topology.h"

namespace memprobe::core {
namespace {

// AMD PERF_CTL layout (PPR): a 12-bit event select split over [7:0] and [35:32].
constexpr std::uint64_t amd(std::uint64_t event, std::uint64_t umask) {
  return (event & 0xFF) | (umask << 8) | ((event >> 8) << 32);
}

// Intel IA32_PERFEVTSELx layout (SDM Vol. 3B).
constexpr std::uint64_t intel(std::uint64_t event, std::uint64_t umask, std::uint64_t cmask = 0) {
  return event | (umask << 8) | (cmask << 24);
}

struct Expected {
  const char* label;
  std::uint32_t type;
  std::uint64_t config;
  std::string source;  // where the vendor documents this value
};

// include/uapi/linux/perf_event.h: PERF_COUNT_HW_CPU_CYCLES = 0,
// PERF_COUNT_HW_INSTRUCTIONS = 1; the kernel maps them per CPU
// (arch/x86/events/amd/core.c: 0x76 and 0xc0 on Zen; intel/core.c: 0x3c and 0xc0).
const Expected kCycles{"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES,
                       "linux/perf_event.h PERF_COUNT_HW_CPU_CYCLES"};
const Expected kInstructions{"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS,
                             "linux/perf_event.h PERF_COUNT_HW_INSTRUCTIONS"};

#if defined(__x86_64__)
// Linux tools/perf/pmu-events/arch/x86/amdzen3/memory.json.
const std::vector<Expected> kZen3 = {
    kCycles,
    kInstructions,
    // ls_dmnd_fills_from_sys 0x43: lcl_l2 0x01 | int_cache 0x02 | ext_cache_local 0x04 |
    // mem_io_local 0x08 | ext_cache_remote 0x10 | mem_io_remote 0x40.
    {"l1d_misses", PERF_TYPE_RAW, amd(0x43, 0x5F), "amdzen3 ls_dmnd_fills_from_sys.* 0x43"},
    {"l2_misses", PERF_TYPE_RAW, amd(0x43, 0x5E), "amdzen3 ls_dmnd_fills_from_sys 0x43 w/o lcl_l2"},
    {"l3_misses", PERF_TYPE_RAW, amd(0x43, 0x5C),
     "amdzen3 ls_dmnd_fills_from_sys 0x43 w/o lcl_l2, int_cache"},
    // ls_l1_d_tlb_miss 0x45: tlb_reload_{4k,coalesced_page,2m,1g}_l2_hit 0x01|0x02|0x04|0x08.
    {"dtlb_l2_hits", PERF_TYPE_RAW, amd(0x45, 0x0F), "amdzen3 ls_l1_d_tlb_miss.*_l2_hit 0x45"},
    // ... _l2_miss 0x10|0x20|0x40|0x80.
    {"dtlb_l2_misses", PERF_TYPE_RAW, amd(0x45, 0xF0), "amdzen3 ls_l1_d_tlb_miss.*_l2_miss 0x45"},
    {"page_walks", PERF_TYPE_RAW, amd(0x46, 0x03), "amdzen3 ls_tablewalker.dside 0x46/0x03"},
};
#endif

// kCycles, kInstructions and the L1D, L2 and L3 miss events: raw `configs`,
// documented in `table` as `events`, in that order.
std::vector<Expected> cycles_and_misses(const std::string& table, const std::uint64_t (&configs)[3],
                                        const char* const (&events)[3]) {
  std::vector<Expected> expected = {kCycles, kInstructions};
  const char* const labels[] = {"l1d_misses", "l2_misses", "l3_misses"};
  for (int i = 0; i < 3; ++i) expected.push_back({labels[i], PERF_TYPE_RAW, configs[i], table + " " + events[i]});
  return expected;
}

// The fill-source and L1 DTLB events Zen 4 and Zen 5 document alike (Linux
// tools/perf/pmu-events/arch/x86/<table>/load-store.json, <table> = amdzen4 or
// amdzen5): ls_dmnd_fills_from_sys 0x43 with local_l2 0x01 | local_ccx 0x02 |
// near_cache 0x04 | dram_io_near 0x08 | far_cache 0x10 | dram_io_far 0x40 |
// alternate_memories 0x80; ls_l1_d_tlb_miss 0x45, *_l2_hit 0x0f, all_l2_miss 0xf0.
std::vector<Expected> zen4_layout(const std::string& table) {
  return cycles_and_misses(table, {amd(0x43, 0xDF), amd(0x43, 0xDE), amd(0x43, 0xDC)},
                           {"ls_dmnd_fills_from_sys.* 0x43", "ls_dmnd_fills_from_sys 0x43 w/o local_l2",
                            "ls_dmnd_fills_from_sys 0x43 w/o local_l2, local_ccx"});
}

std::vector<Expected> with(std::vector<Expected> head, const std::vector<Expected>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

#if defined(__x86_64__)
const std::vector<Expected> kZen4 = with(
    zen4_layout("amdzen4"),
    {{"dtlb_l2_hits", PERF_TYPE_RAW, amd(0x45, 0x0F), "amdzen4 ls_l1_d_tlb_miss.*_l2_hit 0x45"},
     {"dtlb_l2_misses", PERF_TYPE_RAW, amd(0x45, 0xF0), "amdzen4 ls_l1_d_tlb_miss.all_l2_miss 0x45/0xf0"}});
#endif

const std::vector<Expected> kZen5 = with(
    zen4_layout("amdzen5"),
    {{"l1d_fills_dram", PERF_TYPE_RAW, amd(0x44, 0x48), "amdzen5 ls_any_fills_from_sys.dram_io_all 0x44/0x48"},
     {"dtlb_l2_hits", PERF_TYPE_RAW, amd(0x45, 0x0F), "amdzen5 ls_l1_d_tlb_miss.*_l2_hit 0x45"},
     {"dtlb_l2_misses", PERF_TYPE_RAW, amd(0x45, 0xF0), "amdzen5 ls_l1_d_tlb_miss.all_l2_miss 0x45/0xf0"},
     {"dtlb_l2_misses_4k", PERF_TYPE_RAW, amd(0x45, 0x30),
      "amdzen5 ls_l1_d_tlb_miss.tlb_reload_{4k,coalesced_page}_l2_miss 0x10|0x20"},
     {"dtlb_l2_misses_2m", PERF_TYPE_RAW, amd(0x45, 0x40), "amdzen5 ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss"},
     {"dtlb_l2_misses_1g", PERF_TYPE_RAW, amd(0x45, 0x80), "amdzen5 ls_l1_d_tlb_miss.tlb_reload_1g_l2_miss"}});

// Intel perfmon event files (github.com/intel/perfmon, <CPU>/events/*_core.json;
// the same codes are in Linux tools/perf/pmu-events/arch/x86/<cpu>/).
// MEM_LOAD_RETIRED.{L1,L2,L3}_MISS: EventCode 0xD1, UMask 0x08 / 0x10 / 0x20
// on every Intel table here. DTLB_LOAD_MISSES: EventCode 0x08 before Sapphire
// Rapids, 0x12 on it; STLB_HIT UMask 0x20, WALK_COMPLETED 0x0E, WALK_ACTIVE
// UMask 0x10 with CounterMask 1.
[[maybe_unused]] std::vector<Expected> intel_table(std::uint64_t dtlb_load_misses, const std::string& file) {
  auto source = [&](const char* event) { return file + " " + event; };
  return with(cycles_and_misses(file, {intel(0xD1, 0x08), intel(0xD1, 0x10), intel(0xD1, 0x20)},
                                {"MEM_LOAD_RETIRED.L1_MISS 0xD1/0x08", "MEM_LOAD_RETIRED.L2_MISS 0xD1/0x10",
                                 "MEM_LOAD_RETIRED.L3_MISS 0xD1/0x20"}),
              {{"dtlb_l2_hits", PERF_TYPE_RAW, intel(dtlb_load_misses, 0x20),
                source("DTLB_LOAD_MISSES.STLB_HIT UMask 0x20")},
               {"page_walks", PERF_TYPE_RAW, intel(dtlb_load_misses, 0x0E),
                source("DTLB_LOAD_MISSES.WALK_COMPLETED UMask 0x0E")},
               {"walk_cycles", PERF_TYPE_RAW, intel(dtlb_load_misses, 0x10, 1),
                source("DTLB_LOAD_MISSES.WALK_ACTIVE UMask 0x10 CounterMask 1")}});
}

// Arm PMUv3 common event numbers (Arm ARM DDI 0487, "Common event numbers";
// Linux tools/perf/pmu-events/arch/arm64/common-and-microarch.json); the arm64
// kernel takes a raw config as the event number.
const std::vector<Expected> kArmNeoverse = {
    kCycles,
    kInstructions,
    {"l1d_misses", PERF_TYPE_RAW, 0x0003, "Arm PMUv3 L1D_CACHE_REFILL 0x0003"},
    {"l2_misses", PERF_TYPE_RAW, 0x0017, "Arm PMUv3 L2D_CACHE_REFILL 0x0017"},
    {"l3_misses", PERF_TYPE_RAW, 0x0037, "Arm PMUv3 LL_CACHE_MISS_RD 0x0037"},
    {"dtlb_l1_misses", PERF_TYPE_RAW, 0x0005, "Arm PMUv3 L1D_TLB_REFILL 0x0005"},
    {"dtlb_l2_misses", PERF_TYPE_RAW, 0x002D, "Arm PMUv3 L2D_TLB_REFILL 0x002D"},
    {"page_walks", PERF_TYPE_RAW, 0x0034, "Arm PMUv3 DTLB_WALK 0x0034"},
};

// The kernel's generic cache events, include/uapi/linux/perf_event.h:
// config = cache id | op << 8 | result << 16; L1D 0, LL 2, DTLB 3, READ 0, MISS 1.
const std::vector<Expected> kGeneric = {
    kCycles,
    kInstructions,
    {"l1d_misses", PERF_TYPE_HW_CACHE,
     PERF_COUNT_HW_CACHE_L1D | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
         (PERF_COUNT_HW_CACHE_RESULT_MISS << 16),
     "linux/perf_event.h L1D:READ:MISS"},
    {"l3_misses", PERF_TYPE_HW_CACHE,
     PERF_COUNT_HW_CACHE_LL | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
         (PERF_COUNT_HW_CACHE_RESULT_MISS << 16),
     "linux/perf_event.h LL:READ:MISS"},
    {"dtlb_misses", PERF_TYPE_HW_CACHE,
     PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
         (PERF_COUNT_HW_CACHE_RESULT_MISS << 16),
     "linux/perf_event.h DTLB:READ:MISS"},
};

struct Encoding {
  bool ok = false;
  std::uint32_t type = 0;
  std::uint64_t config = 0;
  bool exclude_kernel = false;
  std::string detail;  // canonical name, or the reason it did not encode
};

struct TableEncodings {
  std::string core_pmu;                     // libpfm_core_pmu() where they were encoded
  std::map<std::string, Encoding> by_label;
  std::vector<std::string> labels;          // in table order
};

// "<label> 1 <type> <config> <exclude_kernel> <canonical>" or "<label> 0 <reason>".
std::string encode_table_lines(const std::string& table) {
  std::ostringstream out;
  out << "core_pmu " << libpfm_core_pmu() << "\n";
  for (const EventSpec& spec : default_memory_events(table)) {
    const auto encoded = encode_event(spec.name);
    if (encoded) {
      out << spec.column() << " 1 " << encoded->attr.type << " " << encoded->attr.config << " "
          << encoded->attr.exclude_kernel << " " << encoded->canonical << "\n";
    } else {
      out << spec.column() << " 0 " << encoded.error().reason << "\n";
    }
  }
  return out.str();
}

TableEncodings parse_lines(const std::string& text) {
  TableEncodings result;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string label;
    fields >> label;
    if (label == "core_pmu") {
      fields >> result.core_pmu;
      continue;
    }
    Encoding e;
    int ok = 0;
    fields >> ok;
    e.ok = ok == 1;
    if (e.ok) {
      int exclude_kernel = 0;
      fields >> e.type >> e.config >> exclude_kernel;
      e.exclude_kernel = exclude_kernel != 0;
    }
    std::getline(fields >> std::ws, e.detail);
    result.labels.push_back(label);
    result.by_label[label] = e;
  }
  return result;
}

// Encodes `table`'s default events in a forked child whose libpfm4 is
// re-initialised with LIBPFM_FORCE_PMU=forced_pmu.
TableEncodings encode_with_forced_pmu(const std::string& forced_pmu, const std::string& table) {
  int fds[2];
  if (pipe(fds) != 0) ADD_FAILURE() << "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    // pfm_initialize() reads LIBPFM_FORCE_PMU; pfm_terminate() makes the next
    // call initialise again. memprobe's own cached status stays "initialised".
    pfm_terminate();
    setenv("LIBPFM_FORCE_PMU", forced_pmu.c_str(), 1);
    std::string text = pfm_initialize() == PFM_SUCCESS
                           ? encode_table_lines(table)
                           : "core_pmu libpfm4-did-not-initialise\n";
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(3);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  return parse_lines(text);
}

void expect_encodings(const TableEncodings& got, const std::vector<Expected>& expected,
                      const std::string& where) {
  std::vector<std::string> expected_labels;
  for (const auto& e : expected) expected_labels.push_back(e.label);
  EXPECT_EQ(got.labels, expected_labels) << where << ": the table's columns changed";
  for (const auto& e : expected) {
    const auto it = got.by_label.find(e.label);
    if (it == got.by_label.end()) continue;  // reported by the label comparison
    const Encoding& enc = it->second;
    ASSERT_TRUE(enc.ok) << where << " " << e.label << ": " << enc.detail;
    EXPECT_EQ(enc.type, e.type) << where << " " << e.label << " (" << e.source << ")";
    EXPECT_EQ(enc.config, e.config) << where << " " << e.label << " = 0x" << std::hex << enc.config
                                    << ", documented 0x" << e.config << " (" << e.source << "); "
                                    << enc.detail;
    EXPECT_TRUE(enc.exclude_kernel) << where << " " << e.label << ": defaults are user-only";
  }
}

#if defined(__x86_64__)
struct ForcedPmu {
  const char* pmu;
  std::vector<Expected> expected;
};

std::vector<ForcedPmu> forced_x86_pmus() {
  return {
      {"amd64_fam19h_zen3", kZen3},
      {"amd64_fam19h_zen4", kZen4},
      {"skl", intel_table(0x08, "SKL/events/skylake_core.json")},
      {"skx", intel_table(0x08, "SKX/events/skylakex_core.json")},
      {"clx", intel_table(0x08, "CLX/events/cascadelakex_core.json")},
      {"icl", intel_table(0x08, "ICL/events/icelake_core.json")},
      {"icx", intel_table(0x08, "ICX/events/icelakex_core.json")},
      {"spr", intel_table(0x12, "SPR/events/sapphirerapids_core.json")},
  };
}

TEST(CounterEncodingTest, EveryX86TableEncodesToTheDocumentedConfigsOnItsForcedPmu) {
  for (const ForcedPmu& forced : forced_x86_pmus()) {
    SCOPED_TRACE(forced.pmu);
    const TableEncodings got = encode_with_forced_pmu(forced.pmu, forced.pmu);
    // The child's libpfm4 really runs the forced PMU, whatever this CPU is.
    ASSERT_EQ(got.core_pmu, forced.pmu);
    expect_encodings(got, forced.expected, forced.pmu);
  }
}

TEST(CounterEncodingTest, ForcedPmuRejectsAnotherVendorsEventNames) {
  // The forcing is real: a Zen name does not encode on a forced Intel PMU.
  const TableEncodings got = encode_with_forced_pmu("skl", "amd64_fam19h_zen4");
  ASSERT_EQ(got.core_pmu, "skl");
  ASSERT_TRUE(got.by_label.count("dtlb_l2_hits"));
  EXPECT_FALSE(got.by_label.at("dtlb_l2_hits").ok);
  EXPECT_NE(got.by_label.at("dtlb_l2_hits").detail.find("unknown event"), std::string::npos)
      << got.by_label.at("dtlb_l2_hits").detail;
}
#endif

#if defined(__aarch64__)
// libpfm4 built for arm64 holds the Arm PMUs only (and x86 only the x86 ones).
TEST(CounterEncodingTest, NeoverseTableEncodesToThePmuV3EventNumbersOnEachForcedPmu) {
  for (const char* pmu : {"arm_n1", "arm_n2", "arm_v1", "arm_v2"}) {
    SCOPED_TRACE(pmu);
    const TableEncodings got = encode_with_forced_pmu(pmu, pmu);
    ASSERT_EQ(got.core_pmu, pmu);
    expect_encodings(got, kArmNeoverse, pmu);
  }
}
#endif

TEST(CounterEncodingTest, Zen5IsChosenByCpuFamilyAndEncodesToLinuxPerfsAmdzen5Codes) {
  EXPECT_EQ(event_table_for("", "AuthenticAMD", 0x1A), "amd64_fam1ah_zen5");
  // A libpfm4 that knows Zen 5 would name it the same: the same table.
  EXPECT_EQ(event_table_for("amd64_fam1ah_zen5", "AuthenticAMD", 0x1A), "amd64_fam1ah_zen5");
  // Not Zen 5: libpfm4's choice stands (Zen 3/4 are family 0x19).
  EXPECT_EQ(event_table_for("amd64_fam19h_zen4", "AuthenticAMD", 0x19), "amd64_fam19h_zen4");
  EXPECT_EQ(event_table_for("", "AuthenticAMD", 0x19), "");
  EXPECT_EQ(event_table_for("", "GenuineIntel", 0x1A), "");
  EXPECT_EQ(event_table_for("icl", "GenuineIntel", 6), "icl");

  // Raw codes need no core PMU: the same configs in this process (whatever
  // libpfm4 detected here) and under a forced PMU of another vendor.
  expect_encodings(parse_lines(encode_table_lines("amd64_fam1ah_zen5")), kZen5, "this machine");
#if defined(__x86_64__)
  expect_encodings(encode_with_forced_pmu("skl", "amd64_fam1ah_zen5"), kZen5, "forced skl");
#endif
}

TEST(CounterEncodingTest, UnknownPmuGetsTheKernelsGenericCacheEvents) {
  expect_encodings(parse_lines(encode_table_lines("")), kGeneric, "generic");
  expect_encodings(parse_lines(encode_table_lines("no_such_pmu")), kGeneric, "generic");
}

TEST(CounterEncodingTest, X86DisplayFamilyAddsTheExtendedFamilyOnlyToBaseFamily0xF) {
  EXPECT_EQ(x86_display_family(0x00B40F40), 0x1Au);  // Zen 5 (Granite Ridge)
  EXPECT_EQ(x86_display_family(0x00A10F11), 0x19u);  // Zen 4 (Genoa)
  EXPECT_EQ(x86_display_family(0x00A00F11), 0x19u);  // Zen 3 (Milan)
  EXPECT_EQ(x86_display_family(0x000A0671), 6u);     // Rocket Lake: extended family ignored
  EXPECT_EQ(x86_display_family(0x00F00671), 6u);
}

TEST(CounterEncodingTest, CpuSignatureComesFromCpuidOnX86Only) {
  const auto cpu = read_cpu_signature();
#if defined(__x86_64__)
  ASSERT_TRUE(cpu.has_value());
  EXPECT_EQ(cpu->vendor.size(), 12u) << cpu->vendor;
  EXPECT_GT(cpu->family, 0u);
  EXPECT_EQ(core_event_table(), event_table_for(libpfm_core_pmu(), cpu->vendor, cpu->family));
#else
  EXPECT_FALSE(cpu.has_value());
  EXPECT_EQ(core_event_table(), libpfm_core_pmu());
#endif
}

// The events memprobe encodes without libpfm4 (generic hardware and raw codes)
// get exactly the attr libpfm4's perf and perf_raw PMUs give them.
TEST(CounterEncodingTest, PmuFreeNamesEncodeAsLibpfm4Does) {
  // memprobe encodes these without libpfm4, so it may not be initialised yet.
  ASSERT_EQ(pfm_initialize(), PFM_SUCCESS);
  for (const char* name : {"cycles", "instructions", "perf_raw::r0346", "perf_raw::rf045",
                           "perf_raw::r100000045"}) {
    for (const bool kernel : {false, true}) {
      SCOPED_TRACE(std::string(name) + (kernel ? " kernel" : " user"));
      const auto ours = encode_event(name, kernel);
      ASSERT_TRUE(ours) << ours.error().reason;
      perf_event_attr theirs{};
      pfm_perf_encode_arg_t arg{};
      arg.attr = &theirs;
      arg.size = sizeof arg;
      ASSERT_EQ(pfm_get_os_event_encoding(name, PFM_PLM3 | (kernel ? PFM_PLM0 : 0),
                                          PFM_OS_PERF_EVENT_EXT, &arg),
                PFM_SUCCESS);
      EXPECT_EQ(ours->attr.type, theirs.type);
      EXPECT_EQ(ours->attr.config, theirs.config);
      EXPECT_EQ(ours->attr.exclude_user, theirs.exclude_user);
      EXPECT_EQ(ours->attr.exclude_kernel, theirs.exclude_kernel);
      EXPECT_EQ(ours->attr.exclude_guest, theirs.exclude_guest);
      EXPECT_EQ(ours->attr.exclude_host, theirs.exclude_host);
      EXPECT_EQ(ours->attr.exclude_hv, 1u);  // memprobe never counts the hypervisor
    }
  }
  EXPECT_EQ(encode_event("perf_raw::r100000045")->attr.config, 0x100000045u);
  EXPECT_EQ(encode_event("perf_raw::r0346")->canonical, "perf_raw::r0346");
  // Not raw codes: left to libpfm4, which rejects them.
  EXPECT_FALSE(encode_event("perf_raw::rxyz"));
}

}  // namespace
}  // namespace memprobe::core
