#pragma once
// partition_reader: a coordinator's consumer reads from any partition of the
// cluster, the read side of partition_writer. Alone (no leader table), or
// when this broker leads the partition, the local PARTITION actor answers;
// otherwise the leader's NODE actor (node_actor.h: fetch_atom, offsets
// through partition_stats_atom), reached through PEERS.
//
// Reads stop at the high watermark: what they return is acknowledged.
// Errors are the partition's (not_leader, offset_out_of_range, ...) plus
// cluster_unavailable when the partition has no leader now; the caller
// retries.
//
// One per actor; call it only from that actor's handlers.

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/leader_table.h"
#include "actors/cluster/node_actor.h"
#include "actors/cluster/peers_actor.h"
#include "actors/errc.h"
#include "actors/partition/partition_actor.h"
#include "actors/state/partition_writer.h"
#include "actors/topic/topic_cache.h"

namespace actormq {

class partition_reader {
 public:
  using bytes_fn = std::function<void(caf::expected<std::shared_ptr<std::string>>)>;
  using offsets_fn = std::function<void(caf::expected<partition_offsets>)>;

  partition_reader() = default;
  /// The same settings as the actor's partition_writer.
  explicit partition_reader(partition_writer_settings s) : settings_(std::move(s)) {}

  /// Whole batches from offset (at least one, up to max_bytes); an empty
  /// string when nothing is there yet (offset at the high watermark).
  template <class Self>
  void read(Self* self, const std::string& topic, uint32_t partition, int64_t offset,
            uint32_t max_bytes, caf::timespan timeout, bytes_fn done) {
    auto leader = leader_of(topic, partition);
    if (leader == here) {
      return with_local(self, topic, partition, timeout, done, [=, this](const partition_actor& p) {
        self->request(p, timeout, fetch_atom::value, fetch_request{offset, max_bytes})
            .then(
                [done, topic](fetch_reply& r) {
                  auto bytes = storage::copy_bytes(r.slice);
                  if (!bytes) return done(from_storage(bytes.error(), "read " + topic));
                  done(std::make_shared<std::string>(std::move(*bytes)));
                },
                [this, topic, done](caf::error& e) { failed(topic, e, done); });
      });
    }
    if (leader == cluster::no_broker) return done(no_leader(topic, partition));
    topic_partition tp{topic, static_cast<int32_t>(partition)};
    with_node(self, leader, timeout, done, [=](const node_actor& node) {
      self->request(node, timeout, fetch_atom::value, tp, offset, max_bytes)
          .then(
              [done](std::string& bytes) { done(std::make_shared<std::string>(std::move(bytes))); },
              [done](caf::error& e) { done(std::move(e)); });
    });
  }

  /// The partition's log start and high watermark (from its leader).
  template <class Self>
  void offsets(Self* self, const std::string& topic, uint32_t partition, caf::timespan timeout,
               offsets_fn done) {
    auto leader = leader_of(topic, partition);
    if (leader == here) {
      return with_local(self, topic, partition, timeout, done, [=, this](const partition_actor& p) {
        self->request(p, timeout, offsets_atom::value)
            .then([done](partition_offsets& o) { done(o); },
                  [this, topic, done](caf::error& e) { failed(topic, e, done); });
      });
    }
    if (leader == cluster::no_broker) return done(no_leader(topic, partition));
    std::vector<topic_partition> tps{{topic, static_cast<int32_t>(partition)}};
    with_node(self, leader, timeout, done, [=](const node_actor& node) {
      self->request(node, timeout, partition_stats_atom::value, tps)
          .then(
              [done](std::vector<partition_stats>& s) {
                if (s.size() != 1) return done(make_error(errc::internal, "partition_stats"));
                if (s[0].error != errc::none) return done(make_error(s[0].error, s[0].error_text));
                partition_offsets o;
                o.log_start_offset = s[0].log_start_offset;
                o.high_watermark = s[0].high_watermark;
                o.size_bytes = s[0].size_bytes;
                o.log_end_offset = s[0].high_watermark;
                done(o);
              },
              [done](caf::error& e) { done(std::move(e)); });
    });
  }

 private:
  static constexpr int32_t here = -2;

  int32_t leader_of(const std::string& topic, uint32_t partition) const {
    if (!settings_.leaders) return here;
    auto leader = settings_.leaders->leader(topic, partition);
    return leader == settings_.broker_id ? here : leader;
  }

  static caf::error no_leader(const std::string& topic, uint32_t partition) {
    return make_error(errc::cluster_unavailable,
                      topic + "-" + std::to_string(partition) + " has no leader now");
  }

  template <class Self, class Done, class F>
  void with_local(Self* self, const std::string& topic, uint32_t partition, caf::timespan,
                  Done done, F fn) {
    topics_.with(
        self, settings_.registry, topic,
        [topic, partition, done, fn](caf::expected<topic_handle> th) mutable {
          if (!th) return done(th.error());
          if (partition >= th->partitions.size()) {
            return done(make_error(errc::unknown_partition,
                                   topic + " has no partition " + std::to_string(partition)));
          }
          fn(th->partitions[partition]);
        },
        partition);
  }

  template <class Self, class Done, class F>
  void with_node(Self* self, int32_t broker, caf::timespan timeout, Done done, F fn) {
    self->request(settings_.peers, timeout, node_atom::value, broker)
        .then([fn](node_actor& node) mutable { fn(node); },
              [done](caf::error& e) mutable { done(std::move(e)); });
  }

  template <class Done>
  void failed(const std::string& topic, caf::error& e, Done& done) {
    // A partition actor that went away: look it up again next time.
    if (e.category() != errc_category) topics_.forget(topic);
    done(std::move(e));
  }

  partition_writer_settings settings_;
  topic_cache topics_;
};

}  // namespace actormq
