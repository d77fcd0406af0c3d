// Cache-line-aligned scratch memory for kernel tests (no page policy needed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>

namespace memprobe::testing {

class AlignedBytes {
 public:
  explicit AlignedBytes(std::size_t bytes)
      : storage_(static_cast<std::byte*>(::operator new(bytes, std::align_val_t{64}))), bytes_(bytes) {}
  ~AlignedBytes() { ::operator delete(storage_, std::align_val_t{64}); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  std::byte* data() const { return storage_; }
  std::uint64_t* words() const { return reinterpret_cast<std::uint64_t*>(storage_); }
  std::span<std::byte> bytes() const { return {storage_, bytes_}; }

 private:
  std::byte* storage_;
  std::size_t bytes_;
};

}  // namespace memprobe::testing
