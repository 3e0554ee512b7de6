#pragma once
// What the harnesses share: FUZZ_CHECK, an invariant that aborts (a finding
// for libFuzzer, a failure for the replay test) with the broken condition;
// fuzz_input, a cursor that cuts an input into fields; and a scratch
// directory per process for harnesses that go through files.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "storage/logger.h"

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace actormq::fuzz {

/// Reads fields off the front of an input; past the end, numbers are 0
/// and byte runs are short.
class fuzz_input {
 public:
  fuzz_input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  template <class T>
  T number() {
    T v{};
    size_t n = std::min(sizeof(T), size_ - pos_);
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  /// A run of bytes prefixed by a little-endian u32 length (cut to what is left).
  std::string_view sized() {
    auto n = static_cast<size_t>(number<uint32_t>());
    return take(n);
  }
  std::string_view take(size_t n) {
    n = std::min(n, size_ - pos_);
    std::string_view out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string_view rest() { return take(size_ - pos_); }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

inline std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// A directory of this process under the system temp dir, removed at exit;
/// harnesses clear what they put in it after each input.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d =
        std::filesystem::temp_directory_path() / ("actormq-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

/// Silences the storage logger (recovery of a fuzzed file warns on nearly
/// every input; the log lines cost more than the run). FUZZ_VERBOSE=1 in
/// the environment keeps them, to see what recovery said of an input.
inline void quiet_storage_logs() {
  static const bool once = [] {
    if (std::getenv("FUZZ_VERBOSE") == nullptr) {
      actormq::storage::logger().set_level(spdlog::level::off);
    }
    return true;
  }();
  (void)once;
}

/// Writes bytes to path (creating or replacing it); a failure aborts: the
/// harness, not the code under test, is broken.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  FUZZ_CHECK(std::fclose(f) == 0);
}

}  // namespace actormq::fuzz
