#pragma once
// framed_records: the frame around each record of the small append-only
// files that are replayed whole on open (offset_store's offsets.log,
// txn_log's txn.log), and the recovery they share.
//
// Frame (integers little-endian):
//
//  offset size field         meaning
//  ------ ---- ------------- ----------------------------------------------
//     0    4   crc           uint32, CRC32C of bytes [4, 8 + body_length):
//                            the length field and the body, so a corrupt
//                            length fails the check too
//     4    4   body_length   uint32, bytes after this field
//     8    .   body          the file's own record (its header documents it)
//
// Recovery: walk() reads the records from the start and stops at the first
// one that is torn (shorter than its length), whose length is out of the
// file's bounds, that fails its CRC or whose body the file cannot parse; a
// bad length means nothing after it can be trusted. cut_tail() then cuts
// the file there, reports it (recovery_report) and syncs the cut; nothing is
// dropped silently.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/byte_codec.h"
#include "storage/crc32c.h"
#include "storage/file_handle.h"
#include "storage/recovery_report.h"
#include "storage/result.h"

namespace actormq::storage::framed_records {

/// Bytes of the frame before a body.
inline constexpr size_t header_bytes = 8;

/// Appends one record to out: body(w) writes its body through a
/// byte_writer on out, then the frame's length and CRC are filled in.
/// Returns the record's size, frame included.
template <typename Body>
size_t append(std::vector<uint8_t>& out, Body&& body) {
  const size_t start = out.size();
  out.resize(start + header_bytes);
  byte_writer w(out);
  body(w);
  const auto body_length = static_cast<uint32_t>(out.size() - start - header_bytes);
  store_le<uint32_t>(out.data() + start + 4, body_length);
  store_le<uint32_t>(out.data() + start, crc32c(out.data() + start + 4, 4 + size_t{body_length}));
  return out.size() - start;
}

/// Where a walk stopped.
struct walk_result {
  size_t valid_bytes = 0;  ///< the whole, good records from the start
  std::string problem;     ///< why it stopped before the end; empty at the end
};

/// Walks bytes record by record. Each body of min_body..max_body bytes whose
/// CRC holds is passed to apply with its record's size (frame included);
/// apply returns false for a body it cannot parse, which ends the walk there.
walk_result walk(
    std::span<const uint8_t> bytes, size_t min_body, size_t max_body,
    const std::function<bool(std::span<const uint8_t> body, size_t record_bytes)>& apply);

/// Opens path (creating it) for recovery and reads it whole into bytes.
/// First deletes path + ".tmp", a snapshot a crash left unfinished (a
/// removed_stray_file event in report). source names the file in the log.
result<std::shared_ptr<file_handle>> open_for_recovery(const std::filesystem::path& path,
                                                       std::string_view source,
                                                       recovery_report& report,
                                                       std::vector<uint8_t>& bytes);

/// After a walk of the size bytes of f: when it stopped early, cuts f at
/// the last good record, reports it (a truncated_tail event in report) and
/// syncs the cut. A failed cut is returned with the file as it was and
/// nothing reported; a failed sync is returned after the cut is reported
/// (the bytes are gone from the file).
status cut_tail(file_handle& f, const walk_result& w, size_t size, std::string_view source,
                recovery_report& report);

}  // namespace actormq::storage::framed_records
