#include "actors/cluster/node_state.h"

#include <map>
#include <memory>
#include <random>

#include "actors/logger.h"

namespace actormq {

namespace {

/// Collects one entry per requested partition; answers the promise when the
/// last one is in. Shared by the callbacks of one partition_stats request.
class stats_fan_in {
 public:
  stats_fan_in(const std::vector<topic_partition>& tps,
               caf::typed_response_promise<std::vector<partition_stats>> rp)
      : pending_(tps.size()), rp_(std::move(rp)) {
    entries_.reserve(tps.size());
    for (const auto& tp : tps) {
      partition_stats e;
      e.topic = tp.topic;
      e.partition = tp.partition;
      entries_.push_back(std::move(e));
    }
  }

  const partition_stats& entry(size_t i) const { return entries_[i]; }

  void fill(size_t i, const partition_offsets& o) {
    auto& e = entries_[i];
    e.log_start_offset = o.log_start_offset;
    e.high_watermark = o.high_watermark;
    e.size_bytes = o.size_bytes;
    done_one();
  }

  void fail(size_t i, errc code, std::string text) {
    entries_[i].error = code;
    entries_[i].error_text = std::move(text);
    done_one();
  }

  void fail(size_t i, const caf::error& err) { fail(i, actormq::code_of(err), text_of(err)); }

 private:
  void done_one() {
    if (--pending_ == 0) rp_.deliver(std::move(entries_));
  }

  std::vector<partition_stats> entries_;
  size_t pending_;
  caf::typed_response_promise<std::vector<partition_stats>> rp_;
};

uint64_t random_incarnation() {
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) ^ rd());
  uint64_t x = 0;
  while (x == 0) x = gen();
  return x;
}

}  // namespace

void node_state::init(self_ptr self, node_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  if (settings_.incarnation == 0) settings_.incarnation = random_incarnation();
  actor_log().info("node {}: cluster {}, incarnation {:016x}", settings_.broker_id,
                   settings_.cluster_id, settings_.incarnation);
}

node_info node_state::info() const {
  return {settings_.broker_id, settings_.cluster_id, settings_.rpc_address, settings_.incarnation};
}

caf::result<std::vector<partition_stats>> node_state::stats(
    const std::vector<topic_partition>& tps) {
  if (tps.empty()) return std::vector<partition_stats>{};
  auto rp = self_->make_response_promise<std::vector<partition_stats>>();
  auto fan_in = std::make_shared<stats_fan_in>(tps, rp);
  std::map<std::string, std::vector<size_t>> by_topic;
  for (size_t i = 0; i < tps.size(); ++i) by_topic[tps[i].topic].push_back(i);
  auto timeout = settings_.local_timeout;
  for (auto& [topic, group] : by_topic) {
    const auto& indices = group;  // clang 14 cannot capture a structured binding
    if (!settings_.registry) {
      for (auto i : indices) fan_in->fail(i, errc::unknown_topic, "no topic registry on this node");
      continue;
    }
    auto on_handle = [this, fan_in, indices, timeout](const topic_handle& h) {
      for (auto i : indices) {
        auto p = fan_in->entry(i).partition;
        if (p < 0 || static_cast<size_t>(p) >= h.partitions.size()) {
          fan_in->fail(i, errc::unknown_partition,
                       h.name + "-" + std::to_string(p) + ": unknown partition");
          continue;
        }
        self_->request(h.partitions[static_cast<size_t>(p)], timeout, offsets_atom::value)
            .then([fan_in, i](const partition_offsets& o) { fan_in->fill(i, o); },
                  [fan_in, i](const caf::error& err) { fan_in->fail(i, err); });
      }
    };
    auto on_error = [fan_in, indices](const caf::error& err) {
      for (auto i : indices) fan_in->fail(i, err);
    };
    self_->request(settings_.registry, timeout, lookup_atom::value, topic)
        .then(on_handle, on_error);
  }
  return rp;
}

}  // namespace actormq

namespace actormq {

template <class F, class E>
void node_state::with_partition(const topic_partition& tp, F fn, E on_error) {
  auto pick = [tp, fn, on_error](const std::vector<partition_actor>& ps) mutable {
    if (tp.partition < 0 || static_cast<size_t>(tp.partition) >= ps.size()) {
      return on_error(
          make_error(errc::unknown_partition,
                     tp.topic + "-" + std::to_string(tp.partition) + ": unknown partition"));
    }
    fn(ps[static_cast<size_t>(tp.partition)]);
  };
  if (auto it = handles_.find(tp.topic); it != handles_.end()) return pick(it->second);
  if (!settings_.registry) {
    return on_error(make_error(errc::unknown_topic, "no topic registry on this node"));
  }
  self_->request(settings_.registry, settings_.local_timeout, lookup_atom::value, tp.topic)
      .then(
          [this, pick](const topic_handle& h) mutable {
            handles_[h.name] = h.partitions;
            pick(h.partitions);
          },
          [on_error](const caf::error& err) mutable { on_error(err); });
}

caf::result<replica_fetch_reply> node_state::replica_fetch(const topic_partition& tp,
                                                           const replica_fetch_request& req,
                                                           caf::timespan wait) {
  auto rp = self_->make_response_promise<replica_fetch_reply>();
  // No CAF timeout (a wake of its clock thread per pull, the most frequent
  // request of a cluster): the partition answers a parked pull after
  // `wait` itself, a stopped partition is answered by CAF with
  // request_receiver_down, and the remote fetcher keeps its own deadline.
  with_partition(
      tp,
      [this, rp, req, wait, topic = tp.topic](const partition_actor& p) mutable {
        self_->request(p, caf::infinite, replica_fetch_atom::value, req, wait)
            .then([rp](replica_fetch_reply& r) mutable { rp.deliver(std::move(r)); },
                  [this, rp, topic](caf::error& err) mutable {
                    // A restarted partition is a new actor: look it up again next time.
                    if (err == caf::sec::request_receiver_down) forget(topic);
                    rp.deliver(std::move(err));
                  });
      },
      [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<remote_produce_reply> node_state::produce(remote_produce& req) {
  auto rp = self_->make_response_promise<remote_produce_reply>();
  if (req.acks > static_cast<uint8_t>(acks_level::all)) {
    rp.deliver(make_error(errc::invalid_request, "unknown acks level"));
    return rp;
  }
  auto batch = std::make_shared<std::string>(std::move(req.batches));
  auto acks = static_cast<acks_level>(req.acks);
  auto tp = req.target;
  with_partition(
      tp,
      [this, rp, batch, acks, topic = tp.topic](const partition_actor& p) mutable {
        self_
            ->request(p, settings_.local_timeout, produce_atom::value, produce_request{batch, acks})
            .then(
                [rp](produce_reply& r) mutable {
                  rp.deliver(remote_produce_reply{r.base_offset, r.last_offset, r.duplicate});
                },
                [this, rp, topic](caf::error& err) mutable {
                  if (err == caf::sec::request_receiver_down) forget(topic);
                  rp.deliver(std::move(err));
                });
      },
      [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<std::string> node_state::fetch(const topic_partition& tp, int64_t offset,
                                           uint32_t max_bytes) {
  auto rp = self_->make_response_promise<std::string>();
  with_partition(
      tp,
      [this, rp, offset, max_bytes, topic = tp.topic](const partition_actor& p) mutable {
        self_
            ->request(p, settings_.local_timeout, fetch_atom::value,
                      fetch_request{offset, max_bytes})
            .then(
                [rp](fetch_reply& r) mutable {
                  auto bytes = storage::copy_bytes(r.slice);
                  if (!bytes) {
                    rp.deliver(from_storage(bytes.error(), "read for a remote fetch"));
                    return;
                  }
                  rp.deliver(std::move(*bytes));
                },
                [this, rp, topic](caf::error& err) mutable {
                  if (err == caf::sec::request_receiver_down) forget(topic);
                  rp.deliver(std::move(err));
                });
      },
      [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<epoch_end> node_state::end_of_epoch(const topic_partition& tp, int32_t leader_epoch,
                                                int32_t epoch) {
  auto rp = self_->make_response_promise<epoch_end>();
  with_partition(
      tp,
      [this, rp, leader_epoch, epoch, topic = tp.topic](const partition_actor& p) mutable {
        self_->request(p, settings_.local_timeout, epoch_end_atom::value, leader_epoch, epoch)
            .then([rp](const epoch_end& e) mutable { rp.deliver(e); },
                  [this, rp, topic](caf::error& err) mutable {
                    if (err == caf::sec::request_receiver_down) forget(topic);
                    rp.deliver(std::move(err));
                  });
      },
      [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

}  // namespace actormq
