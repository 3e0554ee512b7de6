#pragma once
// Record batch format: the unit a producer sends, the log stores and a consumer
// receives. The bytes on disk are exactly the bytes on the wire, so a fetch can
// be served by sendfile(2) from the segment file. Documented in
// docs/storage-format.md as well; keep both in step.
//
// All fixed-width integers are little-endian.
//
//  offset size field              meaning
//  ------ ---- ------------------ -------------------------------------------
//     0    8   base_offset        int64, offset of the first record; written by
//                                 the broker at append (producers send 0)
//     8    4   batch_length       int32, bytes that follow this field
//                                 (whole batch = 12 + batch_length bytes)
//    12    4   crc                uint32, CRC32C of bytes [16, 12 + batch_length):
//                                 everything after this field. base_offset is
//                                 outside the CRC so assigning offsets needs no
//                                 re-checksum.
//    16    1   magic              format version, currently 2
//    17    1   reserved           0
//    18    2   attributes         uint16: bits 0-2 compression codec (0 = none;
//                                 others reserved), bit 4 transactional,
//                                 bit 5 control batch, other bits 0
//    20    4   last_offset_delta  int32, offset of the last record minus
//                                 base_offset (= record_count - 1)
//    24    8   first_timestamp    int64 ms since epoch of the first record
//    32    8   max_timestamp      int64 ms, greatest record timestamp
//    40    8   producer_id        int64, -1 when not idempotent
//    48    2   producer_epoch     int16, -1 when not idempotent
//    50    4   base_sequence      int32, producer sequence of the first
//                                 record, -1 when not idempotent
//    54    4   record_count       int32, >= 1
//    58    ..  records            record_count records, back to back
//
// A record (Kafka v2 layout; varint = zig-zag varint, see varint.h):
//   varint length            bytes of the record after this varint
//   int8   attributes        0 (reserved)
//   varint timestamp_delta   record timestamp - first_timestamp
//   varint offset_delta      record offset - base_offset
//   varint key_length        -1 for a null key
//   bytes  key
//   varint value_length      -1 for a null value
//   bytes  value
//   varint header_count
//   header_count times:
//     varint key_length, bytes key (a header key is never null)
//     varint value_length (-1 = null), bytes value

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "storage/result.h"
#include "storage/types.h"

namespace actormq::storage {

namespace batch_layout {
constexpr size_t base_offset = 0;
constexpr size_t batch_length = 8;
constexpr size_t crc = 12;
constexpr size_t magic = 16;
constexpr size_t attributes = 18;
constexpr size_t last_offset_delta = 20;
constexpr size_t first_timestamp = 24;
constexpr size_t max_timestamp = 32;
constexpr size_t producer_id = 40;
constexpr size_t producer_epoch = 48;
constexpr size_t base_sequence = 50;
constexpr size_t record_count = 54;
constexpr size_t header_size = 58;
/// Bytes before batch_length's count starts (base_offset + batch_length).
constexpr size_t length_prefix = 12;
constexpr uint8_t current_magic = 2;
}  // namespace batch_layout

namespace batch_attr {
constexpr uint16_t codec_mask = 0x7;
constexpr uint16_t transactional = 1u << 4;
constexpr uint16_t control = 1u << 5;
constexpr uint16_t known_bits = codec_mask | transactional | control;
}  // namespace batch_attr

/// The decoded fixed header of one batch.
struct batch_header {
  offset base_offset{0};
  int32_t batch_length = 0;
  uint32_t crc = 0;
  uint8_t magic = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  timestamp_ms first_timestamp{0};
  timestamp_ms max_timestamp{0};
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  /// Whole batch size in bytes, header included.
  size_t size_bytes() const {
    return batch_layout::length_prefix + static_cast<size_t>(batch_length);
  }
  offset last_offset() const { return base_offset + last_offset_delta; }
  offset next_offset() const { return base_offset + (int64_t{last_offset_delta} + 1); }
  bool is_transactional() const { return (attributes & batch_attr::transactional) != 0; }
  bool is_control() const { return (attributes & batch_attr::control) != 0; }
};

/// Little-endian load/store helpers for the layout above.
template <typename T>
inline T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;  // x86_64 and aarch64 are little-endian; static_assert below.
}
template <typename T>
inline void store_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
static_assert(std::endian::native == std::endian::little, "ActorMQ assumes a little-endian host");

/// Decodes the fixed header; requires at least header_size bytes. Does not
/// validate anything beyond reading the fields.
batch_header decode_header(std::span<const uint8_t> bytes);

/// CRC32C of the bytes the crc field covers, for a whole batch.
uint32_t compute_crc(std::span<const uint8_t> batch);
/// Writes compute_crc(batch) into the batch's crc field (a whole batch of
/// at least header_size bytes), after its header was built or rewritten.
void store_crc(std::span<uint8_t> batch);

/// How deeply validate_batch checks.
enum class validation { header_and_crc, full_records };

/// Validates the batch that starts at bytes[0]: length in range and not past
/// the buffer, magic, known attributes, counts consistent, timestamps ordered,
/// CRC; with full_records, also that each record parses and the records fill
/// the batch exactly. Returns the header on success; invalid_batch,
/// crc_mismatch or batch_too_large otherwise.
result<batch_header> validate_batch(std::span<const uint8_t> bytes, size_t max_batch_bytes,
                                    validation depth);

/// Overwrites the base_offset field of a batch in place (not covered by CRC).
inline void set_base_offset(std::span<uint8_t> batch, offset o) {
  store_le<int64_t>(batch.data() + batch_layout::base_offset, o());
}

/// One header of a record.
struct record_header_view {
  std::string_view key;
  std::optional<std::string_view> value;
};

/// A decoded record; views point into the batch bytes.
struct record_view {
  offset record_offset{0};
  timestamp_ms timestamp{0};
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<record_header_view> headers;
};

/// Calls fn for each record of one batch, in order. Returns invalid_batch if a
/// record does not parse. The batch must be whole (validate it first when it
/// comes from outside).
status for_each_record(std::span<const uint8_t> batch,
                       const std::function<void(const record_view&)>& fn);

/// Calls fn(header, batch bytes) for each whole batch in a buffer holding
/// batches back to back (e.g. a fetch response). A trailing partial batch is
/// ignored; returns the number of bytes consumed by whole batches.
size_t for_each_batch(std::span<const uint8_t> bytes,
                      const std::function<void(const batch_header&, std::span<const uint8_t>)>& fn);

/// Records of the batches back to back in bytes, by their headers' record
/// counts, not validated: counting stops at the first header that is cut
/// off or has a non-positive length or count (what parses of a malformed
/// buffer is counted).
uint64_t count_records(std::span<const uint8_t> bytes);

}  // namespace actormq::storage
