#include "app/broker/cluster/producer_id_allocator.h"

#include <fmt/format.h>

#include "actors/cluster/producer_id_block.h"
#include "actors/errc.h"
#include "actors/key_value_text.h"
#include "app/broker/logger.h"
#include "storage/file_handle.h"

namespace actormq::broker {

producer_id_allocator::producer_id_allocator(etcd::etcd_client& etcd, kj::Timer& timer, settings s)
    : etcd_(etcd), timer_(timer), settings_(std::move(s)), tasks_(*this) {}

void producer_id_allocator::taskFailed(kj::Exception&& e) {
  broker_log().error("cluster: producer id claim failed: {}", e.getDescription().cStr());
  claiming_ = false;
  auto waiting = std::move(waiting_);
  for (auto& w : waiting) {
    w->fulfill(make_error(errc::internal, "producer id claim failed"));
  }
}

int64_t producer_id_allocator::local_floor(const std::filesystem::path& data_dir) {
  auto text = storage::read_file(data_dir / "producer_ids");
  if (!text) return 0;
  auto v = parse_int64(*text);
  return v && *v > 0 ? *v : 0;
}

kj::Promise<caf::expected<int64_t>> producer_id_allocator::next() {
  if (next_ < limit_) return caf::expected<int64_t>(next_++);
  auto paf = kj::newPromiseAndFulfiller<caf::error>();
  waiting_.push_back(kj::mv(paf.fulfiller));
  if (!claiming_) {
    claiming_ = true;
    tasks_.add(claim().then([this](caf::error e) {
      claiming_ = false;
      // Swap first: a waiter that finds the block used up again starts the
      // next claim and queues itself anew.
      auto waiting = std::move(waiting_);
      waiting_.clear();
      for (auto& w : waiting) w->fulfill(caf::error(e));
    }));
  }
  return paf.promise.then([this](caf::error e) -> kj::Promise<caf::expected<int64_t>> {
    if (e) return caf::expected<int64_t>(std::move(e));
    return next();
  });
}

kj::Promise<caf::error> producer_id_allocator::claim() {
  auto bound = settings_.claim_timeout;
  auto timed_out = timer_.afterDelay(bound.count() * kj::MILLISECONDS).then([bound]() {
    return make_error(errc::cluster_unavailable,
                      fmt::format("no producer id block from the control plane (etcd) within {} ms",
                                  bound.count()));
  });
  auto claimed = etcd_.get(settings_.key)
                     .then([this](etcd::result<etcd::range_result> r) -> kj::Promise<caf::error> {
                       if (!r) {
                         return make_error(errc::cluster_unavailable,
                                           "producer ids: etcd: " + r.err().to_string());
                       }
                       std::optional<etcd::key_value> seen;
                       if (!r->kvs.empty()) seen = r->kvs.front();
                       return claim_after(std::move(seen), 0);
                     });
  // A claim cut off by the bound may still have been applied: its block is
  // skipped, never used twice.
  return claimed.exclusiveJoin(kj::mv(timed_out));
}

kj::Promise<caf::error> producer_id_allocator::claim_after(std::optional<etcd::key_value> seen,
                                                           uint32_t attempt) {
  std::optional<cluster::producer_id_block> latest;
  if (seen) {
    latest = cluster::producer_id_block::decode(seen->value);
    if (!latest) {
      return make_error(errc::internal,
                        fmt::format("{} holds a malformed producer id block '{}'; not overwritten",
                                    settings_.key, seen->value));
    }
  }
  auto block = cluster::producer_id_block::after(latest, settings_.broker, settings_.block_size,
                                                 settings_.floor);
  if (!block) return make_error(errc::internal, "producer ids exhausted");
  auto guard = seen ? etcd::compare::mod_revision_is(settings_.key, etcd::compare::op::equal,
                                                     seen->mod_revision)
                    : etcd::compare::absent(settings_.key);
  return etcd_
      .txn({guard}, {etcd::txn_op::put(settings_.key, block->encode())},
           {etcd::txn_op::get(settings_.key)})
      .then([this, block = *block,
             attempt](etcd::result<etcd::txn_result> r) -> kj::Promise<caf::error> {
        if (!r) {
          return make_error(errc::cluster_unavailable,
                            "producer ids: etcd: " + r.err().to_string());
        }
        if (r->succeeded) {
          next_ = block.first;
          limit_ = block.last + 1;
          broker_log().info("cluster: claimed producer ids {}..{} ({} conflicts)", block.first,
                            block.last, attempt);
          return caf::error{};
        }
        // Another broker claimed a block since we read: go after its block.
        std::optional<etcd::key_value> now;
        if (!r->responses.empty() && !r->responses[0].range.kvs.empty()) {
          now = r->responses[0].range.kvs.front();
        }
        return claim_after(std::move(now), attempt + 1);
      });
}

}  // namespace actormq::broker
