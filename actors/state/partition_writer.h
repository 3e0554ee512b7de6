#pragma once
// partition_writer: how a coordinator actor (transactions today; delays and
// retries next) appends a batch to any partition of the cluster, not only
// to those led by its own broker.
//
// Alone, or when this broker leads the partition, the batch goes to the
// local PARTITION actor (through the TOPIC REGISTRY, handles cached).
// Otherwise it goes to the leader's NODE actor (found through the PEERS
// actor) as a remote_produce, which hands it to that broker's partition.
// Errors are the partition's (not_leader, not_enough_replicas, timeout...)
// plus cluster_unavailable when the partition has no leader now; the caller
// retries, as a producer would.
//
// One per actor; call it only from that actor's handlers.

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/cluster/leader_table.h"
#include "actors/cluster/node_actor.h"
#include "actors/cluster/peers_actor.h"
#include "actors/errc.h"
#include "actors/partition/partition_actor.h"
#include "actors/topic/topic_cache.h"

namespace actormq {

struct partition_writer_settings {
  topic_registry_actor registry;
  /// Cluster only (null alone): who leads what, and the way to the others.
  std::shared_ptr<const cluster::leader_table> leaders;
  peers_actor peers;
  int32_t broker_id = -1;
};

class partition_writer {
 public:
  using done_fn = std::function<void(caf::expected<produce_reply>)>;

  partition_writer() = default;
  explicit partition_writer(partition_writer_settings s) : settings_(std::move(s)) {}

  /// Appends batch to topic/partition with acks; done gets the reply or the
  /// error, on the calling actor.
  template <class Self>
  void produce(Self* self, const std::string& topic, uint32_t partition,
               std::shared_ptr<std::string> batch, acks_level acks, caf::timespan timeout,
               done_fn done) {
    auto leader =
        settings_.leaders ? settings_.leaders->leader(topic, partition) : cluster::no_broker;
    if (!settings_.leaders || leader == settings_.broker_id) {
      return produce_here(self, topic, partition, std::move(batch), acks, timeout, std::move(done));
    }
    if (leader == cluster::no_broker) {
      return done(make_error(errc::cluster_unavailable,
                             topic + "-" + std::to_string(partition) + " has no leader now"));
    }
    remote_produce req{
        {topic, static_cast<int32_t>(partition)}, *batch, static_cast<uint8_t>(acks)};
    self->request(settings_.peers, timeout, node_atom::value, leader)
        .then(
            [self, req, timeout, done](node_actor& node) mutable {
              self->request(node, timeout, produce_atom::value, std::move(req))
                  .then(
                      [done](remote_produce_reply& r) {
                        done(produce_reply{r.base_offset, r.last_offset, r.duplicate});
                      },
                      [done](caf::error& e) { done(std::move(e)); });
            },
            [done](caf::error& e) { done(std::move(e)); });
  }

 private:
  template <class Self>
  void produce_here(Self* self, const std::string& topic, uint32_t partition,
                    std::shared_ptr<std::string> batch, acks_level acks, caf::timespan timeout,
                    done_fn done) {
    topics_.with(
        self, settings_.registry, topic,
        [this, self, topic, partition, batch, acks, timeout,
         done](caf::expected<topic_handle> th) mutable {
          if (!th) return done(th.error());
          if (partition >= th->partitions.size()) {
            return done(make_error(errc::unknown_partition,
                                   topic + " has no partition " + std::to_string(partition)));
          }
          self->request(th->partitions[partition], timeout, produce_atom::value,
                        produce_request{batch, acks})
              .then([done](produce_reply& r) { done(r); },
                    [this, topic, done](caf::error& e) {
                      // A partition actor that went away: look it up again.
                      if (e.category() != errc_category) topics_.forget(topic);
                      done(std::move(e));
                    });
        },
        partition);
  }

  partition_writer_settings settings_;
  topic_cache topics_;
};

}  // namespace actormq
