#include "storage/framed_records.h"

#include <fmt/format.h>

#include <system_error>

namespace actormq::storage::framed_records {

walk_result walk(
    std::span<const uint8_t> bytes, size_t min_body, size_t max_body,
    const std::function<bool(std::span<const uint8_t> body, size_t record_bytes)>& apply) {
  walk_result out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t left = bytes.size() - pos;
    if (left < header_bytes) {
      out.problem = fmt::format("torn record header ({} bytes) at position {}", left, pos);
      break;
    }
    const uint32_t crc = load_le<uint32_t>(bytes.data() + pos);
    const uint32_t body_length = load_le<uint32_t>(bytes.data() + pos + 4);
    if (body_length < min_body || body_length > max_body) {
      out.problem = fmt::format("bad record length {} at position {}", body_length, pos);
      break;
    }
    if (left - header_bytes < body_length) {
      out.problem = fmt::format("torn record: {} of {} bytes at position {}", left,
                                header_bytes + body_length, pos);
      break;
    }
    if (crc32c(bytes.data() + pos + 4, 4 + size_t{body_length}) != crc) {
      out.problem = fmt::format("record CRC mismatch at position {}", pos);
      break;
    }
    const size_t record_bytes = header_bytes + body_length;
    if (!apply(bytes.subspan(pos + header_bytes, body_length), record_bytes)) {
      out.problem = fmt::format("malformed record body at position {}", pos);
      break;
    }
    pos += record_bytes;
  }
  out.valid_bytes = pos;
  return out;
}

result<std::shared_ptr<file_handle>> open_for_recovery(const std::filesystem::path& path,
                                                       std::string_view source,
                                                       recovery_report& report,
                                                       std::vector<uint8_t>& bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto tmp = path;
  tmp += ".tmp";
  if (fs::exists(tmp, ec)) {
    std::error_code size_ec;
    const uint64_t size = fs::file_size(tmp, size_ec);
    fs::remove(tmp, ec);
    if (ec) return ec;
    report_event(report, source,
                 {recovery_event::kind::removed_stray_file, tmp, size_ec ? 0 : size, offset(-1),
                  offset(-1), "unfinished compaction snapshot"});
  }
  auto f = file_handle::open(path, true);
  if (!f) return f.error();
  auto size = (*f)->size();
  if (!size) return size.error();
  bytes.assign(*size, 0);
  if (!bytes.empty()) {
    if (auto st = (*f)->read_at(file_position(0), bytes); !st) return st.error();
  }
  return f;
}

status cut_tail(file_handle& f, const walk_result& w, size_t size, std::string_view source,
                recovery_report& report) {
  if (w.valid_bytes >= size) return {};
  if (auto st = f.truncate(w.valid_bytes); !st) return st;
  // Reported as soon as the bytes are gone from the file, before the sync:
  // a failed sync fails the open, and the next open finds nothing to cut.
  report_event(report, source,
               {recovery_event::kind::truncated_tail, f.path(), size - w.valid_bytes, offset(-1),
                offset(-1), w.problem});
  return f.datasync();
}

}  // namespace actormq::storage::framed_records
