// Expected unavailability as data: a figure that cannot be measured here
// carries the reason, and flows up instead of throwing (C++20 has no std::expected).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace memprobe::core {

struct Unavailable {
  std::string reason;  // one sentence, says what to do where there is a fix
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}              // NOLINT: implicit by design
  Result(Unavailable why) : state_(std::move(why)) {}         // NOLINT: implicit by design

  bool has_value() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Unavailable& error() const { return std::get<Unavailable>(state_); }

 private:
  std::variant<T, Unavailable> state_;
};

}  // namespace memprobe::core
