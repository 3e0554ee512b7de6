#pragma once
// Names of the topics that retries and dead letters go to. For a topic T
// consumed by group G:
//
//   T.G.retry   retries of G's nacked messages of T (auto-created with T's
//               partition count; the consumer client subscribes to it
//               alongside T; a nacked message of partition p goes to p)
//   T.G.dlq     G's dead letters of T (auto-created, one partition)
//   T.dlq       dead letters that belong to no group (a bounded topic's
//               dead-letter-oldest policy)
//
// A message nacked again from T.G.retry stays in T.G.retry, and its dead
// letter goes to T.G.dlq: base_topic() maps the retry topic back to T.

#include <optional>
#include <string>
#include <string_view>

namespace actormq::retry {

inline constexpr std::string_view retry_suffix = ".retry";
inline constexpr std::string_view dlq_suffix = ".dlq";

inline std::string retry_topic(std::string_view topic, std::string_view group) {
  return std::string(topic) + "." + std::string(group) + std::string(retry_suffix);
}

inline std::string dlq_topic(std::string_view topic, std::string_view group) {
  return std::string(topic) + "." + std::string(group) + std::string(dlq_suffix);
}

/// The dead-letter topic of messages that belong to no group.
inline std::string dlq_topic(std::string_view topic) {
  return std::string(topic) + std::string(dlq_suffix);
}

/// T for "T.G.retry" (the retry topic of group G), else topic itself.
inline std::string base_topic(std::string_view topic, std::string_view group) {
  auto suffix = "." + std::string(group) + std::string(retry_suffix);
  if (topic.size() > suffix.size() && topic.ends_with(suffix)) {
    return std::string(topic.substr(0, topic.size() - suffix.size()));
  }
  return std::string(topic);
}

inline bool is_retry_topic(std::string_view topic, std::string_view group) {
  return base_topic(topic, group).size() != topic.size();
}

}  // namespace actormq::retry
