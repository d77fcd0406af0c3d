#!/usr/bin/env bash
# Cross-builds memprobe for AArch64 Linux into ./build-aarch64 and runs every
# test binary under qemu-user; exits 0 only when they all pass.
#
# Installs what it needs first (Debian 12; idempotent): the arm64 multiarch
# architecture, the cross toolchain, qemu-user and the arm64 -dev packages of
# memprobe's dependencies (header-only ones are architecture-independent).
# No binfmt_misc registration is needed: ctest runs each test binary through
# CMAKE_CROSSCOMPILING_EMULATOR (cmake/aarch64-linux-gnu.cmake), and tests
# that start the memprobe binary use a wrapper that does the same.
#
# Tests whose meaning needs real hardware timing skip under emulation with
# the reason (tests/emulation.h): MEMPROBE_UNDER_EMULATION=qemu-user is set
# for them here. Everything else runs. Extra arguments go to cmake's
# configure step (e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache).
set -euo pipefail
cd "$(dirname "$0")/.."

host_packages=(cmake pkg-config g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
               nlohmann-json3-dev libcli11-dev)
arm64_packages=(libbenchmark-dev libhwloc-dev libpfm4-dev libfmt-dev libgtest-dev)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${host_packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${arm64_packages[@]}"; do installed "$p:arm64" || missing+=("$p:arm64"); done

if ((${#missing[@]} > 0)); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "build-aarch64: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "build-aarch64: adding the arm64 architecture (dpkg --add-architecture arm64)"
    $sudo dpkg --add-architecture arm64
  fi
  $sudo apt-get update -qq
  for p in "${missing[@]}"; do
    candidate=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
    if [[ -z $candidate || $candidate == "(none)" ]]; then
      echo "build-aarch64: no installable candidate for $p in the apt sources" >&2
      exit 1
    fi
  done
  echo "build-aarch64: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "build-aarch64: all $((${#host_packages[@]} + ${#arm64_packages[@]})) packages already installed"
fi

start=$(date +%s)
cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMPROBE_WERROR=ON "$@" >/dev/null
cmake --build build-aarch64 -j"$(nproc)"
built=$(date +%s)
echo "build-aarch64: cross-built in $((built - start)) s; running the tests under qemu-aarch64"
MEMPROBE_UNDER_EMULATION=qemu-user ctest --test-dir build-aarch64 --output-on-failure -j"$(nproc)"
echo "build-aarch64: tests passed under qemu-user in $(($(date +%s) - built)) s"
