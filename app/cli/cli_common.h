#pragma once
// What every `actormq` command file shares: error output and the
// connection settings of the CLI.

#include <cstdio>
#include <string>

#include "actormq/client/config.h"
#include "actormq/client/errc.h"
#include "actormq/client/result.h"

namespace actormq::cli {

/// Prints "actormq: error: what" to stderr; returns exit status 1.
inline int fail(const std::string& what) {
  std::fprintf(stderr, "actormq: error: %s\n", what.c_str());
  return 1;
}

inline int fail(const std::string& context, const client::error& e) {
  return fail(context.empty() ? e.to_string() : context + ": " + e.to_string());
}

/// "unknown topic 'T'", else "topic 'T': <error>".
inline std::string describe_topic_error(const std::string& topic, const client::error& e) {
  if (e.is(client::errc::unknown_topic)) return "unknown topic '" + topic + "'";
  return "topic '" + topic + "': " + e.to_string();
}

inline client::connection_config connection_for(const std::string& broker) {
  client::connection_config c;
  c.broker = broker;
  c.client_id = "actormq-cli";
  return c;
}

}  // namespace actormq::cli
