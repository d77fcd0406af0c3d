// The install rules and the Debian package (CMakeLists.txt): `cmake --install`
// into a temporary prefix, and `cpack -G DEB` of this build unpacked with
// dpkg-deb -x, whose memprobe runs from there and names the package's version.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "benchmarks/family.h"
#include "command_runner.h"

namespace {

using memprobe::testing::CommandResult;
using memprobe::testing::make_temp_dir;
using memprobe::testing::run_command_line;

#ifdef MEMPROBE_BUILD_DIR
const std::string kBuildDir = MEMPROBE_BUILD_DIR;
const std::string kCmake = MEMPROBE_CMAKE;
const std::string kCpack = MEMPROBE_CPACK;
#endif

// A sanitized build's binary names its source files (ASan's descriptions of
// globals): not a build to install, so its paths are not checked.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

bool have(const std::string& command) { return run_command_line("command -v " + command).exit_status == 0; }

std::string skip_reason() {
#ifndef MEMPROBE_BUILD_DIR
  return "no build directory given (tests/CMakeLists.txt)";
#else
  if (!std::string(MEMPROBE_EMULATOR).empty()) return "cross build: the package is built and run on the target";
  if (!std::filesystem::exists(std::filesystem::path(kBuildDir) / "man" / "memprobe.1.gz"))
    return "no generated man pages in the build";
  return "";
#endif
}

struct TempDir {
  std::filesystem::path path = make_temp_dir("memprobe-pkg");
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

TEST(PackageTest, InstallPutsBinaryDocsManPagesAndCompletionUnderThePrefix) {
  if (const std::string reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
  const TempDir prefix;
  const CommandResult install = run_command_line("'" + kCmake + "' --install '" + kBuildDir + "' --prefix '" +
                                                 prefix.path.string() + "'");
  ASSERT_EQ(install.exit_status, 0) << install.out << install.err;
  for (const char* file :
       {"bin/memprobe", "share/doc/memprobe/README.md", "share/doc/memprobe/methodology.md",
        "share/doc/memprobe/copyright", "share/memprobe/memprobe.sbatch", "share/man/man1/memprobe.1.gz",
        "share/man/man1/memprobe-run.1.gz", "share/man/man1/memprobe-bench.1.gz",
        "share/bash-completion/completions/memprobe"}) {
    EXPECT_TRUE(std::filesystem::exists(prefix.path / file)) << file;
  }
  // Nothing of the tests or the generator.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(prefix.path)) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find("_tests"), std::string::npos) << entry.path();
    EXPECT_EQ(name.find("docgen"), std::string::npos) << entry.path();
  }
  const std::string binary = (prefix.path / "bin" / "memprobe").string();
  if (have("readelf")) {
    const CommandResult dynamic = run_command_line("readelf -d '" + binary + "'");
    EXPECT_EQ(dynamic.out.find("RUNPATH"), std::string::npos) << dynamic.out;
    EXPECT_EQ(dynamic.out.find("RPATH"), std::string::npos) << dynamic.out;
  }
  // No path into the build or source tree (the debug information stays in the build).
  if (!kSanitized) {
    const std::string bytes = memprobe::testing::slurp(binary);
    EXPECT_EQ(bytes.find(kBuildDir), std::string::npos) << kBuildDir << " is in " << binary;
    EXPECT_EQ(bytes.find(std::string(MEMPROBE_SOURCE_DIR) + "/"), std::string::npos) << MEMPROBE_SOURCE_DIR;
  }
  const CommandResult list = run_command_line("'" + binary + "' list");
  EXPECT_EQ(list.exit_status, 0) << list.err;
  EXPECT_NE(list.out.find("latency"), std::string::npos);
}

TEST(PackageTest, DebHasItsDependsAndItsMemprobeRunsUnpacked) {
  if (const std::string reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
  // The sanitizer build (scripts/ci_sanitizers.sh) is no build to ship: its
  // binary needs the sanitizer runtimes, and cpack strips and scans it for
  // minutes there. The release build's run of this test is the package's.
  if (kSanitized) GTEST_SKIP() << "sanitized build: the package is made and checked from the release build";
  for (const char* tool : {"dpkg-deb", "dpkg-shlibdeps", "dpkg"})
    if (!have(tool)) GTEST_SKIP() << tool << " is not installed (dpkg-dev)";
  if (!std::filesystem::exists(kCpack)) GTEST_SKIP() << "no cpack at " << kCpack;
  const TempDir dir;
  const CommandResult cpack = run_command_line("'" + kCpack + "' -G DEB --config '" + kBuildDir +
                                               "/CPackConfig.cmake' -B '" + dir.path.string() + "'");
  ASSERT_EQ(cpack.exit_status, 0) << cpack.out << cpack.err;
  std::vector<std::filesystem::path> debs;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    if (entry.path().extension() == ".deb") debs.push_back(entry.path());
  ASSERT_EQ(debs.size(), 1u) << cpack.out;
  const std::string deb = debs.front().string();

  const auto field = [&deb](const std::string& name) {
    return trimmed(run_command_line("dpkg-deb -f '" + deb + "' " + name).out);
  };
  const std::string version = field("Version");
  const std::string arch = trimmed(run_command_line("dpkg --print-architecture").out);
  EXPECT_EQ(debs.front().filename().string(), "memprobe_" + version + "_" + arch + ".deb");
  EXPECT_EQ(field("Package"), "memprobe");
  const std::string depends = field("Depends");
  for (const char* library : {"libhwloc", "libpfm", "libfmt", "libbenchmark", "libstdc++"})
    EXPECT_NE(depends.find(library), std::string::npos) << library << " not in Depends: " << depends;
  EXPECT_NE(field("Recommends").find("gnuplot"), std::string::npos);

  const auto root = dir.path / "root";
  const CommandResult unpack = run_command_line("dpkg-deb -x '" + deb + "' '" + root.string() + "'");
  ASSERT_EQ(unpack.exit_status, 0) << unpack.err;
  const std::string binary = (root / "usr" / "bin" / "memprobe").string();
  for (const char* file : {"usr/share/doc/memprobe/copyright", "usr/share/doc/memprobe/changelog.gz",
                           "usr/share/man/man1/memprobe.1.gz", "usr/share/bash-completion/completions/memprobe"})
    EXPECT_TRUE(std::filesystem::exists(root / file)) << file;

  // --version names the package's version: "0.1+gitcd3d249" is memprobe 0.1 at git cd3d249.
  const CommandResult version_out = run_command_line("'" + binary + "' --version");
  EXPECT_EQ(version_out.exit_status, 0) << version_out.err;
  const auto plus = version.find("+git");
  const std::string upstream = version.substr(0, plus);
  EXPECT_NE(version_out.out.find("memprobe " + upstream + " "), std::string::npos) << version_out.out;
  if (plus != std::string::npos) {
    std::string revision = version.substr(plus + 4);
    revision = revision.substr(0, revision.find('.'));
    EXPECT_NE(version_out.out.find(revision), std::string::npos) << version_out.out << " vs " << version;
  }
  const CommandResult list = run_command_line("'" + binary + "' list");
  EXPECT_EQ(list.exit_status, 0) << list.err;
  for (const auto& family : memprobe::bench::families())
    EXPECT_NE(list.out.find(std::string(family.name)), std::string::npos) << family.name;
}

}  // namespace
