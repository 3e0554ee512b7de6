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
//
// Timeouts: by default each request carries a CAF timeout. An owner with a
// frequent timer calls bound_by_owner() once and expire() from the timer:
// requests then go without CAF timeouts (each of which wakes CAF's clock
// thread; request_deadlines.h) and fail with request_timeout once expire()
// sees them past their deadline.

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
#include "actors/request_deadlines.h"
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

  /// From now on the owner calls expire() at least every few milliseconds.
  void bound_by_owner() { by_owner_ = true; }
  /// Fails the requests past their deadline (bound_by_owner only: else
  /// CAF's own timeout answers first).
  size_t expire(request_deadlines::clock::time_point now) {
    return by_owner_ ? deadlines_.expire(now) : 0;
  }

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
    // One deadline for both steps.
    auto t = guard(timeout, done);
    auto bound = caf_timeout(timeout);
    self->request(settings_.peers, bound, node_atom::value, leader)
        .then(
            [self, req, bound, done, t](node_actor& node) mutable {
              if (t.settled()) return;
              self->request(node, bound, produce_atom::value, std::move(req))
                  .then(
                      [done, t](remote_produce_reply& r) {
                        if (t.settle())
                          done(produce_reply{r.base_offset, r.last_offset, r.duplicate});
                      },
                      [done, t](caf::error& e) {
                        if (t.settle()) done(std::move(e));
                      });
            },
            [done, t](caf::error& e) {
              if (t.settle()) done(std::move(e));
            });
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
          auto t = guard(timeout, done);
          self->request(th->partitions[partition], caf_timeout(timeout), produce_atom::value,
                        produce_request{batch, acks})
              .then(
                  [done, t](produce_reply& r) {
                    if (t.settle()) done(r);
                  },
                  [this, topic, done, t](caf::error& e) {
                    if (!t.settle()) return;
                    // A partition actor that went away: look it up again.
                    if (e.category() != errc_category) topics_.forget(topic);
                    done(std::move(e));
                  });
        },
        partition);
  }

  /// The request's ticket: the first of answer and deadline settles it.
  /// Not bound by owner, nobody calls expire() and CAF's timeout is the
  /// answer that settles it.
  request_deadlines::ticket guard(caf::timespan timeout, const done_fn& done) {
    return deadlines_.add(request_deadlines::clock::now() + timeout,
                          [done] { done(caf::make_error(caf::sec::request_timeout)); });
  }
  caf::duration caf_timeout(caf::timespan timeout) const {
    return by_owner_ ? caf::infinite : caf::duration{timeout};
  }

  partition_writer_settings settings_;
  topic_cache topics_;
  bool by_owner_ = false;
  request_deadlines deadlines_;
};

}  // namespace actormq
