// Other work on the machine while memprobe measured: the share of all CPUs'
// time that was busy (hypervisor steal included), less memprobe's own CPU
// time. A run that shares the machine measures the neighbour too (L3 and
// DRAM are shared, a busy CPU slows the all-core cases, steal stretches any
// timed loop), so the run says so rather than print such figures silently.
#pragma once

#include <optional>
#include <string>

namespace memprobe::harness {

struct CpuTimes {
  double busy_s = 0;   // all CPUs: user, nice, system, irq, softirq, steal
  double total_s = 0;  // busy + idle + iowait
  double own_s = 0;    // this process, all threads: user + system
};

// The aggregate "cpu " line of /proc/stat's text, in seconds at
// `ticks_per_second` (USER_HZ); nullopt if the line is missing or malformed.
// own_s is left 0.
std::optional<CpuTimes> parse_proc_stat(const std::string& text, double ticks_per_second);

// The machine's CPU time now (/proc/stat) with this process's (getrusage);
// nullopt where /proc/stat cannot be read.
std::optional<CpuTimes> sample_cpu_times();

// The share (0..1) of all CPUs' time between the two samples that other work
// kept busy: (busy - own) / total, clamped to 0..1; 0 when no time passed.
double other_busy_fraction(const CpuTimes& start, const CpuTimes& end);

// Above this share of the machine's CPU time, the run warns (stderr) that
// other work shared the machine. One busy neighbour on a 2-CPU guest is 0.5;
// an idle guest stays near 0.01.
inline constexpr double kBusyMachineWarningFraction = 0.10;

}  // namespace memprobe::harness
