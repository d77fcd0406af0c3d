// Tests that change or depend on the system-wide hugetlb pools take this lock,
// so ctest -j2 never runs two of them at once (their pool counts would mix).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>

namespace memprobe::testing {

inline constexpr const char* kHugetlbPool2MPath = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";

// A pool's nr_hugepages (0 if it cannot be read).
inline std::uint64_t read_hugetlb_pool_pages(const char* path = kHugetlbPool2MPath) {
  std::ifstream in(path);
  std::uint64_t pages = 0;
  in >> pages;
  return pages;
}

class HugetlbPoolLock {
 public:
  HugetlbPoolLock() : fd_(::open("/tmp/memprobe-tests-hugetlb.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);  // blocks until the other test is done
  }
  ~HugetlbPoolLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  HugetlbPoolLock(const HugetlbPoolLock&) = delete;
  HugetlbPoolLock& operator=(const HugetlbPoolLock&) = delete;

 private:
  int fd_;
};

}  // namespace memprobe::testing
