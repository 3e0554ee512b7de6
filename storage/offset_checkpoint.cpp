#include "storage/offset_checkpoint.h"

#include <fmt/format.h>

#include <charconv>
#include <string>

#include "storage/errc.h"
#include "storage/file_handle.h"

namespace actormq::storage {

namespace {
// Longer than any int64 in decimal plus the newline: refuse to parse more.
constexpr size_t max_file_bytes = 21;
}  // namespace

result<std::optional<offset>> offset_checkpoint::read() const {
  auto text = read_file(path_);
  if (!text) {
    if (text.error() == errc::not_found) return std::optional<offset>{};
    return {text.error(), fmt::format("read {}", path_.string())};
  }
  auto corrupt = [&](std::string_view why) -> result<std::optional<offset>> {
    return {errc::corrupt_checkpoint, fmt::format("{}: {}", path_.string(), why)};
  };
  const std::string& s = *text;
  if (s.empty()) return corrupt("empty file");
  if (s.size() > max_file_bytes)
    return corrupt(fmt::format("{} bytes, expected at most {}", s.size(), max_file_bytes));
  if (s.back() != '\n') return corrupt("no newline at the end");
  std::string_view digits(s.data(), s.size() - 1);
  if (digits.empty()) return corrupt("no offset before the newline");
  for (char c : digits) {
    if (c < '0' || c > '9') return corrupt("not a decimal offset");
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return corrupt("offset out of range");
  }
  return std::optional<offset>(offset(v));
}

status offset_checkpoint::write(offset o) const {
  if (o < offset(0)) {
    return {errc::invalid_argument, fmt::format("{}: negative offset {}", path_.string(), o())};
  }
  auto text = fmt::format("{}\n", o());
  if (auto st =
          write_file_atomic(path_, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
      !st) {
    return {st.error(), fmt::format("write {}", path_.string())};
  }
  return {};
}

}  // namespace actormq::storage
