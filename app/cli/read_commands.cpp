#include "read_commands.h"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "actormq/client/reader.h"
#include "cli_common.h"
#include "delay_option.h"
#include "message_format.h"

namespace actormq::cli {

namespace {

using ms = std::chrono::milliseconds;

/// --from-time: RFC 3339, or ms since the epoch.
std::optional<int64_t> parse_time(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc{} && end == text.data() + text.size() && v >= 0) return v;
  return parse_rfc3339(text);
}

/// Places r on o's partitions and start; returns an exit status (0 = go on).
int place(client::reader& r, const read_options& o) {
  std::optional<int64_t> at_time;
  if (o.from_time) {
    at_time = parse_time(*o.from_time);
    if (!at_time) return fail("--from-time '" + *o.from_time + "': expected RFC 3339 or ms");
  }
  int64_t start =
      o.offset.value_or(o.from_beginning ? client::reader::earliest : client::reader::latest);
  client::result<void> placed;
  if (o.partition) {
    client::topic_partition tp{o.topic, *o.partition};
    placed = at_time ? r.assign_from_time(tp, *at_time) : r.assign(tp, start);
  } else {
    placed = at_time ? r.assign_topic_from_time(o.topic, *at_time) : r.assign_topic(o.topic, start);
  }
  if (!placed) return fail(describe_topic_error(o.topic, placed.err()));
  return 0;
}

struct find_options {
  read_options read;
  std::string id;
  bool all = false;
};

int find(const std::string& broker, const find_options& o, const std::atomic<bool>& stop) {
  auto want = client::message_id::parse(o.id);
  if (!want || want->empty()) return fail("--id '" + o.id + "': expected 32 hex digits");
  client::consumer_config cfg;
  cfg.connection = connection_for(broker);
  auto r = client::reader::create(cfg);
  if (!r) return fail("", r.err());
  read_options ro = o.read;
  ro.from_beginning = true;
  if (int rc = place(**r, ro); rc != 0) return rc;
  message_format fmt(o.read.format);
  uint64_t scanned = 0, found = 0;
  std::string out;
  // A partition that cannot be read (its leader down) must not hold the
  // scan for ever: it gives up after stall without a message.
  constexpr auto stall = std::chrono::seconds(15);
  auto progress = std::chrono::steady_clock::now();
  client::error last;
  while (!stop) {
    if (std::chrono::steady_clock::now() - progress > stall) {
      return fail("scan of '" + o.read.topic + "' stalled after " + std::to_string(scanned) +
                  " messages" + (last ? ": " + last.to_string() : std::string()) +
                  "; the id was not found in what was read");
    }
    auto b = (*r)->poll_batch(ms(500));
    if (!b) {
      if (!client::is_retriable(b.err().value())) return fail("read failed", b.err());
      last = b.err();
      continue;
    }
    if (!b->empty()) progress = std::chrono::steady_clock::now();
    scanned += b->size();
    for (const auto& v : *b) {
      if (v.id != *want) continue;
      out.clear();
      fmt.render(v.to_message(), out);
      std::fwrite(out.data(), 1, out.size(), stdout);
      ++found;
      if (!o.all) return 0;
    }
    if ((*r)->at_end()) break;
  }
  std::fflush(stdout);
  if (found > 0) return 0;
  return fail("no message with id " + want->to_string() + " in '" + o.read.topic + "' (" +
              std::to_string(scanned) + " messages read)");
}

}  // namespace

int read_without_group(const std::string& broker, const read_options& o,
                       const std::atomic<bool>& stop) {
  client::consumer_config cfg;
  cfg.connection = connection_for(broker);
  auto r = client::reader::create(cfg);
  if (!r) return fail("", r.err());
  if (int rc = place(**r, o); rc != 0) return rc;
  message_format fmt(o.format);
  int64_t printed = 0;
  auto last_message = std::chrono::steady_clock::now();
  std::string out;
  while (!stop && (o.max_messages < 0 || printed < o.max_messages)) {
    auto b = (*r)->poll_batch(ms(200));
    if (!b) {
      if (!client::is_retriable(b.err().value())) return fail("consume failed", b.err());
    } else if (!b->empty()) {
      out.clear();
      for (const auto& v : *b) {
        if (o.max_messages >= 0 && printed >= o.max_messages) break;
        fmt.render(v.to_message(), out);
        ++printed;
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      last_message = std::chrono::steady_clock::now();
      continue;
    }
    if (o.timeout_ms >= 0 && std::chrono::steady_clock::now() - last_message >= ms(o.timeout_ms)) {
      break;
    }
  }
  return 0;
}

std::function<int(const std::string& broker)> add_message_commands(CLI::App& app,
                                                                   const std::atomic<bool>& stop) {
  auto* message = app.add_subcommand("message", "find a message by its id");
  message->require_subcommand(1);
  auto o = std::make_shared<find_options>();
  auto* find_cmd = message->add_subcommand(
      "find", "scan a topic for the message with this id (printed with --format)");
  find_cmd->add_option("topic", o->read.topic, "topic")->required();
  find_cmd->add_option("--id", o->id, "message id: 32 hex digits (consume --format %i)")
      ->required();
  find_cmd->add_option("--partition", o->read.partition, "scan only this partition");
  find_cmd->add_option("--from-time", o->read.from_time,
                       "start at this time (RFC 3339 or ms since the epoch) instead of the log "
                       "start");
  o->read.format = "%T %p %o %i %v";
  find_cmd->add_option("--format", o->read.format, "as consume --format")->capture_default_str();
  find_cmd->add_flag("--all", o->all, "print every copy, not only the first");
  return [find_cmd, o, &stop](const std::string& broker) -> int {
    if (find_cmd->parsed()) return find(broker, *o, stop);
    return -1;
  };
}

}  // namespace actormq::cli
