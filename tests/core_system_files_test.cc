// core/system_files.h: the one reader of the kernel's text files, the hugetlb
// sysfs paths and errno as text.
#include "core/system_files.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/units.h"

namespace memprobe::core {
namespace {

TEST(SystemFilesTest, ReadTextFileTrimsOnlyWhenAsked) {
  const std::string path = ::testing::TempDir() + "system_files_test.txt";
  { std::ofstream(path) << "  always [madvise] never\n\n"; }
  EXPECT_EQ(read_text_file(path), "always [madvise] never");
  EXPECT_EQ(read_text_file(path, TextTrim::kTrimmed), "always [madvise] never");
  EXPECT_EQ(read_text_file(path, TextTrim::kAsIs), "  always [madvise] never\n\n");
  { std::ofstream(path) << " \n\t"; }
  EXPECT_EQ(read_text_file(path), "");
  std::remove(path.c_str());
  EXPECT_EQ(read_text_file(path), std::nullopt);
}

TEST(SystemFilesTest, HugetlbSysfsPathNamesThePoolInKiB) {
  EXPECT_EQ(hugetlb_sysfs_path(2 * kMiB), "/sys/kernel/mm/hugepages/hugepages-2048kB");
  EXPECT_EQ(hugetlb_sysfs_path(2 * kMiB, "nr_hugepages"), "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
  EXPECT_EQ(hugetlb_sysfs_path(kGiB, "free_hugepages"), "/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages");
}

TEST(SystemFilesTest, ErrnoAsNameAndText) {
  EXPECT_EQ(errno_name(ENOMEM), "ENOMEM");
  EXPECT_EQ(errno_name(4095), "errno 4095");
  EXPECT_EQ(errno_text(ENOMEM), "Cannot allocate memory (ENOMEM)");
  EXPECT_EQ(errno_text(EACCES), "Permission denied (EACCES)");
  EXPECT_EQ(errno_text(4095).find('('), std::string::npos);  // no name to add
}

}  // namespace
}  // namespace memprobe::core
