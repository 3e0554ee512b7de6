#include "actormq/client/message_batch.h"

namespace actormq::client {

message message_view::to_message() const {
  message m;
  m.topic = std::string(topic);
  m.partition = partition;
  m.offset = offset;
  m.timestamp_ms = timestamp_ms;
  m.id = id;
  if (key) m.key = std::string(*key);
  if (value) m.value = std::string(*value);
  m.headers.reserve(headers.size());
  for (const auto& h : headers) {
    m.headers.push_back({std::string(h.key), h.value
                                                 ? std::optional<std::string>(std::string(*h.value))
                                                 : std::nullopt});
  }
  return m;
}

std::vector<message> message_batch::to_messages() const {
  std::vector<message> out;
  out.reserve(size());
  for (const auto& v : *this) out.push_back(v.to_message());
  return out;
}

}  // namespace actormq::client
