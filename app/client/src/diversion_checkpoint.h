#pragma once
// diversion_checkpoint: one record of a backlog diversion's state topic
// "<temp>.diversion" (backlog_diversion.h). The value is text, one
// "key=value" per line:
//
//   version=1
//   topic=orders                source topic
//   group=billing               whose backlog moves
//   drain_group=billing.drain
//   temp=orders.backlog         the temporary topic
//   partitions=12               of temp
//   started_ms=1764800000000
//   range=0:100:5000,1:80:4000  per source partition P:FROM:END (END exclusive)
//   next=0:2300,1:4000          per source partition: next offset to move
//   temp_end=0:120,1:97,...     per temp partition: high watermark at this checkpoint
//
// The last record of the topic is the diversion's state; earlier ones are
// history. decode() refuses anything it cannot read whole.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace actormq::client::detail {

struct diversion_checkpoint {
  struct range {
    int64_t from = 0;
    int64_t end = 0;
  };
  std::string topic;
  std::string group;
  std::string drain_group;
  std::string temp;
  uint32_t partitions = 0;
  int64_t started_ms = 0;
  std::map<uint32_t, range> ranges;      ///< per source partition
  std::map<uint32_t, int64_t> next;      ///< per source partition
  std::map<uint32_t, int64_t> temp_end;  ///< per temp partition

  uint64_t backlog() const;
  uint64_t moved() const;

  std::string encode() const;
  static std::optional<diversion_checkpoint> decode(std::string_view text);
};

}  // namespace actormq::client::detail
