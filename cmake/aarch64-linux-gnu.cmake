# Cross build for AArch64 Linux with Debian's cross toolchain and arm64
# multiarch libraries (scripts/build-aarch64.sh installs both):
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# The test binaries run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so
# ctest and gtest_discover_tests work on an x86-64 host without binfmt_misc.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Debian multiarch: arm64 libraries and CMake packages live in
# /usr/lib/aarch64-linux-gnu; headers in /usr/include (+ /aarch64-linux-gnu).
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config (hwloc) must read the arm64 .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# No -L /usr/aarch64-linux-gnu: the binaries link the multiarch libraries in
# /usr/lib/aarch64-linux-gnu, so they must load with the multiarch libc6:arm64
# loader (/lib/ld-linux-aarch64.so.1) too. With the cross sysroot's older
# loader instead, thread creation and fork hang (seen with qemu 7.2).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)

# GCC notes on AArch64 that passing std::pair<double, double> changed ABI in
# GCC 10.1 (-Wpsabi): informational, about code compiled by older GCCs.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
