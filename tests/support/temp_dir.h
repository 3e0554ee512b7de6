#pragma once
// A fresh directory under $TMPDIR, removed with its contents at scope end.

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace actormq::test {

class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "actormq-test") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace actormq::test
