#include "storage/batch_split.h"

#include <catch2/catch.hpp>

#include "storage/errc.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

using namespace actormq::storage;

namespace {
std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct seen {
  std::optional<std::string> key, value;
  int64_t ts;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::vector<seen> records_of(const std::string& batch) {
  auto h = validate_batch(bytes_of(batch), 1 << 20, validation::full_records);
  REQUIRE(h);
  std::vector<seen> out;
  REQUIRE(for_each_record(bytes_of(batch), [&](const record_view& r) {
    seen s{r.key ? std::optional<std::string>(*r.key) : std::nullopt,
           r.value ? std::optional<std::string>(*r.value) : std::nullopt,
           r.timestamp(),
           {}};
    for (const auto& x : r.headers) {
      s.headers.emplace_back(std::string(x.key),
                             x.value ? std::optional<std::string>(*x.value) : std::nullopt);
    }
    out.push_back(std::move(s));
  }));
  return out;
}
}  // namespace

TEST_CASE("a batch split by due time keeps each record whole and in order") {
  record_batch_builder b;
  b.set_producer(7, 1, 40);  // a stamp the parts must not carry
  b.add(std::string_view("a"), std::string_view("1"), timestamp_ms(1000),
        {{"amq-id", std::string("id-1")}, {"n", std::nullopt}});
  b.add(std::string_view("b"), std::string_view("2"), timestamp_ms(1001));
  b.add(std::nullopt, std::string_view("3"), timestamp_ms(999), {{"amq-id", std::string("id-3")}});
  b.add(std::string_view("a"), std::nullopt, timestamp_ms(1003));
  const auto batch = b.build();
  const std::vector<int64_t> due{5000, 9000, 5000, 7000};

  auto parts = split_batch(bytes_of(batch), due);
  REQUIRE(parts);
  REQUIRE(parts->size() == 3);
  CHECK((*parts)[0].key == 5000);
  CHECK((*parts)[1].key == 9000);
  CHECK((*parts)[2].key == 7000);
  CHECK((*parts)[0].records == 2);

  auto first = records_of((*parts)[0].batch);
  REQUIRE(first.size() == 2);
  CHECK(first[0].key == "a");
  CHECK(first[0].value == "1");
  CHECK(first[0].ts == 1000);
  REQUIRE(first[0].headers.size() == 2);
  CHECK(first[0].headers[0].first == "amq-id");
  CHECK(first[0].headers[0].second == "id-1");
  CHECK(first[0].headers[1].second == std::nullopt);
  CHECK(first[1].key == std::nullopt);
  CHECK(first[1].value == "3");
  CHECK(first[1].ts == 999);  // earlier than the part's first record: a negative delta
  auto second = records_of((*parts)[1].batch);
  REQUIRE(second.size() == 1);
  CHECK(second[0].key == "b");
  auto third = records_of((*parts)[2].batch);
  REQUIRE(third.size() == 1);
  CHECK(third[0].value == std::nullopt);
  CHECK(third[0].ts == 1003);

  auto h = decode_header(bytes_of((*parts)[0].batch));
  CHECK(h.producer_id == -1);
  CHECK(h.base_sequence == -1);
  CHECK(h.last_offset_delta == 1);
}

TEST_CASE("a batch whose records are all due together stays one batch") {
  record_batch_builder b;
  for (int i = 0; i < 100; ++i) {
    b.add(std::string_view("k"), std::string_view(std::to_string(i)), timestamp_ms(i));
  }
  const auto batch = b.build();
  std::vector<int64_t> due(100, 42);
  auto parts = split_batch(bytes_of(batch), due);
  REQUIRE(parts);
  REQUIRE(parts->size() == 1);
  auto rs = records_of(parts->front().batch);
  REQUIRE(rs.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(rs[static_cast<size_t>(i)].value == std::to_string(i));
}

TEST_CASE("splitting refuses due times that do not match the batch's records") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1));
  b.add(std::string_view("k"), std::string_view("w"), timestamp_ms(2));
  const auto batch = b.build();
  std::vector<int64_t> one{1};
  auto r = split_batch(bytes_of(batch), one);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::invalid_argument);
  CHECK(r.message().find("1 due times for a batch of 2 records") != std::string::npos);
  std::vector<int64_t> three{1, 2, 3};
  CHECK_FALSE(split_batch(bytes_of(batch), three));
}

TEST_CASE("splitting a cut-off batch is refused, not read past its end") {
  record_batch_builder b;
  b.add(std::string_view("k"), std::string_view("v"), timestamp_ms(1));
  auto batch = b.build();
  std::vector<int64_t> due{1};
  auto cut = bytes_of(batch).first(batch.size() - 3);
  CHECK_FALSE(split_batch(cut, due));
  CHECK_FALSE(split_batch(bytes_of(batch).first(10), due));
}
