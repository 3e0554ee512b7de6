#include "storage/record_batch.h"

#include <catch2/catch.hpp>

#include "storage/crc32c.h"
#include "storage/errc.h"
#include "storage/record_batch_builder.h"

using namespace actormq::storage;

namespace {
std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::span<uint8_t> mut_bytes(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}
}  // namespace

TEST_CASE("crc32c matches the standard check value") {
  const char* s = "123456789";
  CHECK(crc32c(s, 9) == 0xE3069283u);
  CHECK(crc32c_extend(crc32c(s, 4), s + 4, 5) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("a built batch round-trips keys values headers and timestamps") {
  record_batch_builder b;
  b.set_producer(42, 3, 100);
  b.add(std::string_view("k1"), std::string_view("v1"), timestamp_ms(1000));
  b.add(std::nullopt, std::string_view(""), timestamp_ms(990),
        {{"h", std::string("x")}, {"n", std::nullopt}});
  b.add(std::string_view("k3"), std::nullopt, timestamp_ms(2000));
  auto batch = b.build();

  auto h = validate_batch(bytes_of(batch), 1 << 20, validation::full_records);
  REQUIRE(h);
  CHECK(h->base_offset == offset(0));
  CHECK(h->record_count == 3);
  CHECK(h->last_offset_delta == 2);
  CHECK(h->first_timestamp == timestamp_ms(1000));
  CHECK(h->max_timestamp == timestamp_ms(2000));
  CHECK(h->producer_id == 42);
  CHECK(h->producer_epoch == 3);
  CHECK(h->base_sequence == 100);
  CHECK(h->size_bytes() == batch.size());

  set_base_offset(mut_bytes(batch), offset(500));
  // The base offset is outside the CRC: still valid.
  REQUIRE(validate_batch(bytes_of(batch), 1 << 20, validation::full_records));

  std::vector<record_view> got;
  std::vector<std::vector<std::pair<std::string, std::optional<std::string>>>> hdrs;
  REQUIRE(for_each_record(bytes_of(batch), [&](const record_view& r) {
    got.push_back(r);
    std::vector<std::pair<std::string, std::optional<std::string>>> hv;
    for (auto& x : r.headers)
      hv.emplace_back(std::string(x.key),
                      x.value ? std::optional<std::string>(std::string(*x.value)) : std::nullopt);
    hdrs.push_back(hv);
  }));
  REQUIRE(got.size() == 3);
  CHECK(got[0].record_offset == offset(500));
  CHECK(got[0].key == std::optional<std::string_view>("k1"));
  CHECK(got[0].value == std::optional<std::string_view>("v1"));
  CHECK(got[0].timestamp == timestamp_ms(1000));
  CHECK(got[1].record_offset == offset(501));
  CHECK_FALSE(got[1].key.has_value());
  CHECK(got[1].value == std::optional<std::string_view>(""));
  CHECK(got[1].timestamp == timestamp_ms(990));
  REQUIRE(hdrs[1].size() == 2);
  CHECK(hdrs[1][0].first == "h");
  CHECK(hdrs[1][0].second == std::optional<std::string>("x"));
  CHECK(hdrs[1][1].first == "n");
  CHECK_FALSE(hdrs[1][1].second.has_value());
  CHECK(got[2].record_offset == offset(502));
  CHECK_FALSE(got[2].value.has_value());
}

TEST_CASE("validate_batch refuses a flipped payload bit with crc_mismatch") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("value"), timestamp_ms(1));
  auto batch = b.build();
  batch[batch.size() - 3] ^= 0x01;
  auto h = validate_batch(bytes_of(batch), 1 << 20, validation::full_records);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::crc_mismatch);
}

TEST_CASE("validate_batch refuses a length past the buffer") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("value"), timestamp_ms(1));
  auto batch = b.build();
  auto h = validate_batch(bytes_of(batch).subspan(0, batch.size() - 1), 1 << 20,
                          validation::full_records);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::invalid_batch);
}

TEST_CASE("validate_batch refuses a batch above the size limit") {
  record_batch_builder b;
  b.add(std::nullopt, std::string(1000, 'x'), timestamp_ms(1));
  auto batch = b.build();
  auto h = validate_batch(bytes_of(batch), 512, validation::full_records);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::batch_too_large);
}

TEST_CASE("validate_batch refuses a record count that disagrees with the records") {
  record_batch_builder b;
  b.add(std::nullopt, std::string_view("a"), timestamp_ms(1));
  b.add(std::nullopt, std::string_view("b"), timestamp_ms(1));
  auto batch = b.build();
  // Claim 3 records (and fix last_offset_delta and CRC so only the records disagree).
  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  store_le<int32_t>(p + batch_layout::record_count, 3);
  store_le<int32_t>(p + batch_layout::last_offset_delta, 2);
  store_le<uint32_t>(p + batch_layout::crc, compute_crc(bytes_of(batch)));
  CHECK(validate_batch(bytes_of(batch), 1 << 20, validation::header_and_crc));
  auto h = validate_batch(bytes_of(batch), 1 << 20, validation::full_records);
  REQUIRE_FALSE(h);
  CHECK(h.error() == errc::invalid_batch);
}

TEST_CASE("validate_batch refuses an unknown magic and a compression codec") {
  record_batch_builder b;
  b.add(std::nullopt, std::string_view("a"), timestamp_ms(1));
  auto batch = b.build();
  auto bad_magic = batch;
  bad_magic[batch_layout::magic] = 7;
  store_le<uint32_t>(reinterpret_cast<uint8_t*>(bad_magic.data()) + batch_layout::crc,
                     compute_crc(bytes_of(bad_magic)));
  CHECK(validate_batch(bytes_of(bad_magic), 1 << 20, validation::full_records).error() ==
        errc::invalid_batch);
  auto codec = batch;
  store_le<uint16_t>(reinterpret_cast<uint8_t*>(codec.data()) + batch_layout::attributes, 1);
  store_le<uint32_t>(reinterpret_cast<uint8_t*>(codec.data()) + batch_layout::crc,
                     compute_crc(bytes_of(codec)));
  CHECK(validate_batch(bytes_of(codec), 1 << 20, validation::full_records).error() ==
        errc::invalid_batch);
}

TEST_CASE("for_each_batch walks whole batches and stops at a partial one") {
  std::string buf;
  for (int i = 0; i < 3; ++i) {
    record_batch_builder b;
    b.add(std::nullopt, std::string(10 + i, 'a'), timestamp_ms(i));
    buf += b.build();
  }
  size_t whole = buf.size();
  buf += buf.substr(0, 20);
  int n = 0;
  size_t used =
      for_each_batch(bytes_of(buf), [&](const batch_header& h, std::span<const uint8_t> b) {
        CHECK(h.size_bytes() == b.size());
        ++n;
      });
  CHECK(n == 3);
  CHECK(used == whole);
}

TEST_CASE("count_records sums the record counts of back to back batches and stops at a cut one") {
  auto batch_of = [](int n) {
    record_batch_builder b;
    for (int i = 0; i < n; ++i) b.add(std::nullopt, std::string_view("v"), timestamp_ms(1));
    return b.build();
  };
  auto two = batch_of(3) + batch_of(5);
  CHECK(count_records(bytes_of(two)) == 8);
  // A trailing batch cut inside its header is not counted.
  auto cut = two + batch_of(7).substr(0, 20);
  CHECK(count_records(bytes_of(cut)) == 8);
  // A header claiming a non-positive count stops the count there.
  auto bad = batch_of(2);
  store_le<int32_t>(mut_bytes(bad).data() + batch_layout::record_count, -4);
  CHECK(count_records(bytes_of(bad + batch_of(3))) == 0);
  CHECK(count_records({}) == 0);
}

TEST_CASE("a batch built into a reused buffer keeps the buffer's memory and none of its bytes") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string(5000, 'x'), timestamp_ms(1000));
  auto first = b.build();
  const auto* memory = first.data();
  const size_t capacity = first.capacity();

  b.reset(std::move(first));
  b.add(std::string_view("k2"), std::string_view("v2"), timestamp_ms(2000));
  auto second = b.build();
  CHECK(second.data() == memory);
  CHECK(second.capacity() == capacity);
  auto h = validate_batch(bytes_of(second), 1 << 20, validation::full_records);
  REQUIRE(h);
  CHECK(h->record_count == 1);
  CHECK(h->size_bytes() == second.size());
  REQUIRE(for_each_record(bytes_of(second), [&](const record_view& r) {
    CHECK(r.key == std::optional<std::string_view>("k2"));
    CHECK(r.value == std::optional<std::string_view>("v2"));
  }));
}

TEST_CASE("a batch built without its CRC is refused until the CRC is written") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1000));
  auto batch = b.build_without_crc();
  auto refused = validate_batch(bytes_of(batch), 1 << 20, validation::header_and_crc);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == errc::crc_mismatch);
  store_le<uint32_t>(mut_bytes(batch).data() + batch_layout::crc, compute_crc(bytes_of(batch)));
  CHECK(validate_batch(bytes_of(batch), 1 << 20, validation::full_records));
}

TEST_CASE("header views give the same records as owned headers") {
  const record_header_view first{"amq-id", std::string_view("0123456789abcdef")};
  record_batch_builder owned;
  owned.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1000), first,
            std::vector<record_header>{{"h", std::string("x")}, {"n", std::nullopt}});
  record_batch_builder viewed;
  const std::vector<record_header_view> hs{{"h", std::string_view("x")}, {"n", std::nullopt}};
  viewed.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1000), first,
             std::span<const record_header_view>(hs));
  CHECK(owned.build() == viewed.build());
}

TEST_CASE("records whose fields are longer than the builder gathers on the stack round-trip") {
  // The builder gathers a record's small fields on the stack and appends a
  // field over 64 bytes by itself, flushing what it gathered first; headers
  // that do not fit the stack buffer together go out in several appends.
  const std::string k64(64, 'k'), k65(65, 'K'), v(5000, 'v');
  std::vector<record_header_view> hs;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("header-" + std::to_string(i));
  for (int i = 0; i < 40; ++i) {
    // Small headers, ~11 bytes each, overflow the 256-byte stack buffer; one
    // of 65 bytes in the middle goes out by itself.
    hs.push_back({names[i], i == 20      ? std::optional<std::string_view>(k65)
                            : i % 2 == 0 ? std::optional<std::string_view>()
                                         : std::optional<std::string_view>("")});
  }
  const record_header_view first{"amq-id", std::string_view("0123456789abcdef")};
  record_batch_builder b;
  b.add(std::string_view(k64), std::string_view(v), timestamp_ms(7), first,
        std::span<const record_header_view>(hs));
  b.add(std::string_view(k65), std::nullopt, timestamp_ms(8), first,
        std::span<const record_header_view>());
  b.add(std::nullopt, std::string_view(""), timestamp_ms(6), first,
        std::span<const record_header_view>(hs.data(), 3));
  auto batch = b.build();
  REQUIRE(validate_batch(bytes_of(batch), 1 << 20, validation::full_records));

  struct got_record {
    std::optional<std::string> key, value;
    int64_t ts;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  };
  auto opt = [](std::optional<std::string_view> s) {
    return s ? std::optional<std::string>(std::string(*s)) : std::nullopt;
  };
  std::vector<got_record> got;
  REQUIRE(for_each_record(bytes_of(batch), [&](const record_view& r) {
    got_record g{opt(r.key), opt(r.value), r.timestamp(), {}};
    for (auto& h : r.headers) g.headers.emplace_back(std::string(h.key), opt(h.value));
    got.push_back(std::move(g));
  }));
  REQUIRE(got.size() == 3);
  CHECK(got[0].key == k64);
  CHECK(got[0].value == v);
  CHECK(got[0].ts == 7);
  REQUIRE(got[0].headers.size() == 41);
  CHECK(got[0].headers[0].first == "amq-id");
  CHECK(got[0].headers[0].second == "0123456789abcdef");
  for (int i = 0; i < 40; ++i) {
    CHECK(got[0].headers[i + 1].first == names[i]);
    CHECK(got[0].headers[i + 1].second == opt(hs[i].value));
  }
  CHECK(got[1].key == k65);
  CHECK_FALSE(got[1].value);
  CHECK(got[1].headers.size() == 1);
  CHECK_FALSE(got[2].key);
  CHECK(got[2].value == "");
  CHECK(got[2].ts == 6);
  CHECK(got[2].headers.size() == 4);
}
