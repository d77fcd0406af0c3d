#include "harness/machine_load.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace memprobe::harness {

std::optional<CpuTimes> parse_proc_stat(const std::string& text, double ticks_per_second) {
  if (!(ticks_per_second > 0)) return std::nullopt;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("cpu ", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(fields >> user >> nice >> system >> idle)) return std::nullopt;
    fields >> iowait >> irq >> softirq >> steal;  // absent on old kernels: 0
    CpuTimes t;
    t.busy_s = (user + nice + system + irq + softirq + steal) / ticks_per_second;
    t.total_s = t.busy_s + (idle + iowait) / ticks_per_second;
    return t;
  }
  return std::nullopt;
}

std::optional<CpuTimes> sample_cpu_times() {
  std::ifstream file("/proc/stat");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  std::optional<CpuTimes> t = parse_proc_stat(text.str(), static_cast<double>(::sysconf(_SC_CLK_TCK)));
  if (!t) return std::nullopt;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0)
    t->own_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return t;
}

double other_busy_fraction(const CpuTimes& start, const CpuTimes& end) {
  const double total_s = end.total_s - start.total_s;
  if (!(total_s > 0)) return 0;
  const double other_s = (end.busy_s - start.busy_s) - (end.own_s - start.own_s);
  return std::clamp(other_s / total_s, 0.0, 1.0);
}

}  // namespace memprobe::harness
