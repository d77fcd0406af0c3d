#include "analysis/results_json.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>
#include <system_error>

namespace memprobe::analysis {
namespace {

using nlohmann::json;

// Integral values (sizes, counts) are written as JSON integers so the file
// reads "32768", not "32768.0"; everything else as a double. Non-finite values
// become null (JSON has no NaN).
json number(double value) {
  if (!std::isfinite(value)) return nullptr;
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0)  // 2^53
    return static_cast<std::int64_t>(value);
  return value;
}

json optional_number(const std::optional<double>& value) { return value ? number(*value) : json(nullptr); }

json number_map(const std::map<std::string, double>& values) {
  json out = json::object();
  for (const auto& [key, value] : values) out[key] = number(value);
  return out;
}

// Reads one member of a JSON object, naming its path in every error
// ("cases[3].metrics: expected an object").
class Reader {
 public:
  Reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string member_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  const json* find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const json& require(std::string_view key) const {
    const json* value = find(key);
    if (!value) throw ResultsError(fmt::format("{}: missing", member_path(key)));
    return *value;
  }

  std::string string(std::string_view key, bool required = false) const {
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return {};
    if (!value->is_string()) throw ResultsError(fmt::format("{}: expected a string", member_path(key)));
    return value->get<std::string>();
  }

  std::optional<std::string> optional_string(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return std::nullopt;
    if (!value->is_string()) throw ResultsError(fmt::format("{}: expected a string or null", member_path(key)));
    return value->get<std::string>();
  }

  double number(std::string_view key, bool required = false) const {
    const json* value = required ? &require(key) : find(key);
    if (!value || value->is_null()) {
      if (required && value) throw ResultsError(fmt::format("{}: expected a number", member_path(key)));
      return 0;
    }
    if (!value->is_number()) throw ResultsError(fmt::format("{}: expected a number", member_path(key)));
    return value->get<double>();
  }

  std::optional<double> optional_number(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return std::nullopt;
    if (!value->is_number()) throw ResultsError(fmt::format("{}: expected a number or null", member_path(key)));
    return value->get<double>();
  }

  int integer(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return 0;
    if (!value->is_number_integer()) throw ResultsError(fmt::format("{}: expected an integer", member_path(key)));
    return value->get<int>();
  }

  bool boolean(std::string_view key) const {
    const json* value = find(key);
    if (!value || value->is_null()) return false;
    if (!value->is_boolean()) throw ResultsError(fmt::format("{}: expected true or false", member_path(key)));
    return value->get<bool>();
  }

  // An object member; an empty object if absent and not required.
  const json& object(std::string_view key, bool required = false) const {
    static const json kEmpty = json::object();
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return kEmpty;
    if (!value->is_object()) throw ResultsError(fmt::format("{}: expected an object", member_path(key)));
    return *value;
  }

  const json& array(std::string_view key, bool required = false) const {
    static const json kEmpty = json::array();
    const json* value = required ? &require(key) : find(key);
    if (!value || (!required && value->is_null())) return kEmpty;
    if (!value->is_array()) throw ResultsError(fmt::format("{}: expected an array", member_path(key)));
    return *value;
  }

  std::map<std::string, double> number_map(std::string_view key, bool required = false) const {
    std::map<std::string, double> out;
    for (const auto& [name, value] : object(key, required).items()) {
      if (value.is_null()) {
        out[name] = std::nan("");  // written for a non-finite value
      } else if (value.is_number()) {
        out[name] = value.get<double>();
      } else {
        throw ResultsError(fmt::format("{}.{}: expected a number", member_path(key), name));
      }
    }
    return out;
  }

  // Reader over an element of an array member, which must be an object.
  static Reader element(const json& value, const std::string& path) {
    if (!value.is_object()) throw ResultsError(fmt::format("{}: expected an object", path));
    return Reader(value, path);
  }

 private:
  const json& object_;
  std::string path_;
};

json cache_level_to_json(const CacheLevelRow& row) {
  json out = json::object();
  out["level"] = row.level;
  if (row.reported_bytes) out["reported_bytes"] = number(*row.reported_bytes);
  out["detected_bytes"] = optional_number(row.detected_bytes);
  out["latency_ns"] = optional_number(row.latency_ns);
  out["latency_cycles"] = optional_number(row.latency_cycles);
  out["spread_pct"] = optional_number(row.spread_pct);
  if (!row.note.empty()) out["note"] = row.note;
  return out;
}

MachineInfo machine_from_json(const Reader& r) {
  MachineInfo m;
  m.cpu_model = r.string("cpu_model");
  m.vendor = r.string("vendor");
  m.logical_cpus = r.integer("logical_cpus");
  m.kernel = r.string("kernel");
  m.hypervisor = r.optional_string("hypervisor");
  m.tsc_hz = r.number("tsc_hz");
  m.core_hz = r.number("core_hz");
  m.core_hz_source = r.string("core_hz_source");
  const json& caches = r.array("caches");
  for (std::size_t i = 0; i < caches.size(); ++i) {
    const Reader c = Reader::element(caches[i], fmt::format("{}[{}]", r.member_path("caches"), i));
    m.caches.push_back({c.integer("level"), c.string("kind"), c.number("size_bytes", true), c.number("line_bytes"),
                        c.integer("ways")});
  }
  const json& tlbs = r.array("tlb");
  for (std::size_t i = 0; i < tlbs.size(); ++i) {
    const Reader t = Reader::element(tlbs[i], fmt::format("{}[{}]", r.member_path("tlb"), i));
    TlbInfo tlb;
    tlb.level = t.integer("level");
    tlb.page_bytes = t.number("page_bytes");
    tlb.entries = t.optional_number("entries");
    m.tlb.push_back(tlb);
  }
  const Reader thp(r.object("thp"), r.member_path("thp"));
  m.thp_enabled = thp.string("enabled");
  m.thp_defrag = thp.string("defrag");
  const Reader hugepages(r.object("hugepages"), r.member_path("hugepages"));
  m.hugepages_2m_reserved = hugepages.number("2m_reserved");
  m.hugepages_1g_reserved = hugepages.number("1g_reserved");
  const Reader pmu(r.object("pmu"), r.member_path("pmu"));
  m.pmu_available = pmu.boolean("available");
  m.pmu_reason = pmu.string("reason");
  m.host = r.string("host");
  m.memory_bytes = r.optional_number("memory_bytes");
  return m;
}

Case case_from_json(const Reader& r) {
  Case c;
  c.family = r.string("family", true);
  c.name = r.string("name", true);
  c.params = r.object("params", true);
  c.metrics = r.number_map("metrics", true);
  const Reader spread(r.object("spread"), r.member_path("spread"));
  c.spread.repetitions = spread.integer("repetitions");
  c.spread.min = spread.number("min");
  c.spread.median = spread.number("median");
  c.spread.max = spread.number("max");
  c.spread.noisy = spread.boolean("noisy");
  const Reader backing(r.object("backing"), r.member_path("backing"));
  c.backing.requested = backing.string("requested");
  c.backing.verified = backing.string("verified");
  c.backing.huge_fraction = backing.number("huge_fraction");
  c.counters = r.number_map("counters");
  return c;
}

[[noreturn]] void throw_system_error(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

}  // namespace

nlohmann::json to_json(const Results& results) {
  json doc = json::object();
  doc["schema"] = results.schema;
  doc["command"] = results.command;
  doc["started_at"] = results.started_at;
  doc["git"] = results.git;

  const MachineInfo& m = results.machine;
  json machine = json::object();
  machine["cpu_model"] = m.cpu_model;
  machine["vendor"] = m.vendor;
  machine["logical_cpus"] = m.logical_cpus;
  machine["kernel"] = m.kernel;
  machine["hypervisor"] = m.hypervisor ? json(*m.hypervisor) : json(nullptr);
  machine["tsc_hz"] = number(m.tsc_hz);
  machine["core_hz"] = number(m.core_hz);
  machine["core_hz_source"] = m.core_hz_source;
  machine["caches"] = json::array();
  for (const CacheInfo& c : m.caches) {
    machine["caches"].push_back({{"level", c.level},
                                 {"kind", c.kind},
                                 {"size_bytes", number(c.size_bytes)},
                                 {"line_bytes", number(c.line_bytes)},
                                 {"ways", c.ways}});
  }
  machine["tlb"] = json::array();
  for (const TlbInfo& t : m.tlb) {
    machine["tlb"].push_back(
        {{"level", t.level}, {"page_bytes", number(t.page_bytes)}, {"entries", optional_number(t.entries)}});
  }
  machine["thp"] = {{"enabled", m.thp_enabled}, {"defrag", m.thp_defrag}};
  machine["hugepages"] = {{"2m_reserved", number(m.hugepages_2m_reserved)},
                          {"1g_reserved", number(m.hugepages_1g_reserved)}};
  machine["pmu"] = {{"available", m.pmu_available}, {"reason", m.pmu_reason}};
  machine["host"] = m.host;
  machine["memory_bytes"] = optional_number(m.memory_bytes);
  doc["machine"] = std::move(machine);

  json cases = json::array();
  for (const Case& c : results.cases) {
    json item = json::object();
    item["family"] = c.family;
    item["name"] = c.name;
    item["params"] = c.params.is_null() ? json::object() : c.params;
    item["metrics"] = number_map(c.metrics);
    item["spread"] = {{"repetitions", c.spread.repetitions},
                      {"min", number(c.spread.min)},
                      {"median", number(c.spread.median)},
                      {"max", number(c.spread.max)},
                      {"noisy", c.spread.noisy}};
    item["backing"] = {{"requested", c.backing.requested},
                       {"verified", c.backing.verified},
                       {"huge_fraction", number(c.backing.huge_fraction)}};
    item["counters"] = number_map(c.counters);
    cases.push_back(std::move(item));
  }
  doc["cases"] = std::move(cases);

  json unavailable = json::array();
  for (const UnavailableFigure& u : results.unavailable)
    unavailable.push_back({{"what", u.what}, {"reason", u.reason}});
  doc["unavailable"] = std::move(unavailable);

  json derived = json::object();
  json levels = json::array();
  for (const CacheLevelRow& row : results.derived.cache_levels) levels.push_back(cache_level_to_json(row));
  derived["cache_levels"] = std::move(levels);
  if (results.derived.extra.is_object())
    for (const auto& [key, value] : results.derived.extra.items())
      if (!derived.contains(key)) derived[key] = value;
  doc["derived"] = std::move(derived);

  // Members this version does not model are kept as they were read; the
  // modelled ones win if a name collides.
  if (results.extra.is_object())
    for (const auto& [key, value] : results.extra.items())
      if (!doc.contains(key)) doc[key] = value;
  return doc;
}

Results results_from_json(const nlohmann::json& document) {
  if (!document.is_object()) throw ResultsError("not a memprobe results file (expected a JSON object)");
  auto schema = document.find("schema");
  if (schema == document.end()) throw ResultsError("not a memprobe results file (no 'schema')");
  if (!schema->is_string()) throw ResultsError("not a memprobe results file ('schema' is not a string)");
  if (schema->get<std::string>() != kSchema)
    throw ResultsError(fmt::format("not a {} results file (schema '{}')", kSchema, schema->get<std::string>()));

  const Reader top(document, "");
  Results results;
  results.schema = kSchema;
  results.command = top.string("command");
  results.started_at = top.string("started_at");
  results.git = top.string("git");
  results.machine = machine_from_json(Reader(top.object("machine", true), "machine"));

  const json& cases = top.array("cases", true);
  for (std::size_t i = 0; i < cases.size(); ++i)
    results.cases.push_back(case_from_json(Reader::element(cases[i], fmt::format("cases[{}]", i))));

  const json& unavailable = top.array("unavailable");
  for (std::size_t i = 0; i < unavailable.size(); ++i) {
    const Reader u = Reader::element(unavailable[i], fmt::format("unavailable[{}]", i));
    results.unavailable.push_back({u.string("what", true), u.string("reason", true)});
  }

  const Reader derived(top.object("derived"), "derived");
  const json& levels = derived.array("cache_levels");
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const Reader l = Reader::element(levels[i], fmt::format("derived.cache_levels[{}]", i));
    CacheLevelRow row;
    row.level = l.string("level", true);
    row.reported_bytes = l.optional_number("reported_bytes");
    row.detected_bytes = l.optional_number("detected_bytes");
    row.latency_ns = l.optional_number("latency_ns");
    row.latency_cycles = l.optional_number("latency_cycles");
    row.spread_pct = l.optional_number("spread_pct");
    row.note = l.string("note");
    results.derived.cache_levels.push_back(std::move(row));
  }
  if (const json* d = top.find("derived"); d && d->is_object())
    for (const auto& [key, value] : d->items())
      if (key != "cache_levels") results.derived.extra[key] = value;

  static constexpr std::string_view kKnown[] = {"schema",  "command", "started_at",  "git",
                                                "machine", "cases",   "unavailable", "derived"};
  for (const auto& [key, value] : document.items()) {
    bool known = false;
    for (std::string_view k : kKnown) known = known || key == k;
    if (!known) results.extra[key] = value;
  }
  return results;
}

Results load_results(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      throw ResultsError(fmt::format("cannot read {}: {}", path, std::strerror(error)));
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);

  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw ResultsError(fmt::format("{}: empty file", path));
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 1: ..." -> drop the tag.
    std::string message = e.what();
    if (auto close = message.find("] "); message.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      message.erase(0, close + 2);
    throw ResultsError(fmt::format("{}: not valid JSON (truncated?): {}", path, message));
  }
  try {
    return results_from_json(document);
  } catch (const ResultsError& e) {
    throw ResultsError(fmt::format("{}: {}", path, e.what()));
  } catch (const json::exception& e) {  // a value out of range for its type
    throw ResultsError(fmt::format("{}: {}", path, e.what()));
  }
}

std::string atomic_write_temp_path(const std::string& path) {
  // Per process, so two runs writing the same file never share a temporary.
  return path + ".tmp." + std::to_string(::getpid());
}

namespace {

// Every signal that can be blocked, for the duration of one atomic write: a
// signal arriving meanwhile is delivered once the file is complete (or the
// temporary removed), so no handler and no default action can end the
// process with a temporary file left behind.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    held_ = ::pthread_sigmask(SIG_BLOCK, &all, &previous_) == 0;
  }
  ~SignalsHeld() {
    if (held_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t previous_{};
  bool held_ = false;
};

}  // namespace

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp_path = atomic_write_temp_path(path);
  const SignalsHeld signals_held;

  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_system_error(errno, fmt::format("cannot write {}", tmp_path));
  const auto fail = [&](int error, const std::string& what) {
    ::unlink(tmp_path.c_str());
    throw_system_error(error, what);
  };

  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EFBIG past RLIMIT_FSIZE (SIGXFSZ is ignored), ENOSPC, EIO...
      const int error = errno;
      ::close(fd);
      fail(error, fmt::format("cannot write {}", tmp_path));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail(error, fmt::format("cannot write {}", tmp_path));
  }
  // close() can report a deferred write error (NFS): it counts as a failed write.
  if (::close(fd) != 0) fail(errno, fmt::format("cannot write {}", tmp_path));
  // Only a regular file is ever replaced: a rename over /dev/null or a FIFO
  // would put a regular file in its place (the harness refuses such a path
  // before measuring; this holds it for any caller and for a path that
  // changed since).
  struct stat target {};
  if (::lstat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
    fail(EEXIST, fmt::format("cannot replace {}: not a regular file", path));
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) fail(errno, fmt::format("cannot rename {} to {}", tmp_path, path));
}

void write_results_atomic(const std::string& path, const Results& results) {
  write_text_atomic(path, to_json(results).dump(2) + "\n");
}

}  // namespace memprobe::analysis
