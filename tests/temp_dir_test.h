// A GoogleTest fixture for tests that drive the memprobe binary on files in
// a fresh temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "tests/command_runner.h"

namespace memprobe::testing {

// dir_: a fresh directory named after `prefix`, removed after each test;
// memprobe(args): the memprobe binary run with `args`.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override { dir_ = make_temp_dir(prefix_); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  CommandResult memprobe(const std::string& args) { return run_command_line(kMemprobe + " " + args); }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace memprobe::testing
