#include "log_reader.h"

#include <actormq/client/admin.h>
#include <actormq/client/consumer.h>
#include <fmt/format.h>
#include <unistd.h>

#include <thread>

namespace actormq::checker {

log_reader::log_reader(std::string bootstrap, std::string topic, uint32_t partitions)
    : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)), partitions_(partitions) {}

bool log_reader::read_all(std::chrono::milliseconds timeout, std::vector<observation>& out,
                          std::string& error, const std::vector<int64_t>& min_ends) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  client::connection_config conn;
  conn.broker = bootstrap_;
  conn.client_id = "checker-reader";
  conn.connect_timeout_ms = 1000;
  conn.request_timeout_ms = 3000;
  auto admin = client::admin::create(conn);
  if (!admin) {
    error = "reader: " + admin.err().to_string();
    return false;
  }
  // Where each partition ends now (its high watermark); retried while
  // leaders move.
  std::vector<int64_t> ends(partitions_, -1);
  for (uint32_t p = 0; p < partitions_; ++p) {
    for (;;) {
      auto end = (*admin)->list_offsets({topic_, p}, client::admin::latest_timestamp);
      const int64_t floor = p < min_ends.size() ? min_ends[p] : 0;
      if (end && *end >= floor) {
        ends[p] = *end;
        break;
      }
      if (left().count() <= 0) {
        error = end ? fmt::format("reader: partition {} ends at {}, below the acknowledged {}", p,
                                  *end, floor)
                    : fmt::format("reader: no end offset of partition {}: {}", p,
                                  end.err().to_string());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  client::consumer_config cfg;
  cfg.connection = conn;
  cfg.group_id = fmt::format("checker-read-{}-{}", ::getpid(), ++reads_);
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.retry_topics = false;
  cfg.dead_letter_expired = false;
  cfg.max_poll_records = 5000;
  cfg.session_timeout_ms = 6000;
  cfg.fetch_max_wait_ms = 100;
  auto c = client::consumer::create(cfg);
  if (!c) {
    error = "reader: " + c.err().to_string();
    return false;
  }
  if (auto st = (*c)->subscribe({topic_}); !st) {
    error = "reader: subscribe: " + st.err().to_string();
    return false;
  }
  std::vector<int64_t> next(partitions_, 0);
  auto done = [&] {
    for (uint32_t p = 0; p < partitions_; ++p) {
      if (next[p] < ends[p]) return false;
    }
    return true;
  };
  std::string last_error;
  while (!done()) {
    if (left().count() <= 0) {
      std::string where;
      for (uint32_t p = 0; p < partitions_; ++p) {
        where += fmt::format(" p{} {}/{}", p, next[p], ends[p]);
      }
      error = "reader: not done in time:" + where + (last_error.empty() ? "" : "; " + last_error);
      (void)(*c)->close();
      return false;
    }
    auto batch = (*c)->poll(std::chrono::milliseconds(300));
    if (!batch) {
      last_error = batch.err().to_string();
      continue;
    }
    for (auto& m : *batch) {
      if (m.partition >= partitions_ || m.offset >= ends[m.partition]) {
        // Written after the read began: the next read sees it.
        if (m.partition < partitions_)
          next[m.partition] = std::max(next[m.partition], m.offset + 1);
        continue;
      }
      out.push_back({m.partition, m.offset, m.value.value_or("")});
      next[m.partition] = std::max(next[m.partition], m.offset + 1);
    }
  }
  (void)(*c)->close();
  return true;
}

}  // namespace actormq::checker
