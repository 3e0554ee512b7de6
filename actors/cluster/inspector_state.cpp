#include "actors/cluster/inspector_state.h"

#include <algorithm>
#include <chrono>
#include <set>

namespace actormq {

namespace {

int64_t inspector_wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string inspector_ms(caf::timespan t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count()) + " ms";
}

/// Counts down the parts of one fan-out; the last part calls done.
template <class T>
struct fan_in {
  T value;
  size_t pending = 0;
  std::function<void(T)> done;
  void part_done() {
    if (--pending == 0) done(std::move(value));
  }
};

}  // namespace

void inspector_state::init(self_ptr self, inspector_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
}

caf::result<broker_report> inspector_state::local() {
  auto rp = self_->make_response_promise<broker_report>();
  gather_local([rp](broker_report r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

caf::result<std::vector<broker_report>> inspector_state::cluster() {
  auto rp = self_->make_response_promise<std::vector<broker_report>>();
  auto finish = [rp](std::vector<broker_report> all) mutable {
    std::sort(all.begin(), all.end(), [](const broker_report& a, const broker_report& b) {
      return a.broker_id < b.broker_id;
    });
    rp.deliver(std::move(all));
  };
  if (!settings_.peers) {
    gather_local([finish](broker_report r) mutable { finish({std::move(r)}); });
    return rp;
  }
  self_->request(settings_.peers, settings_.timeout, peers_atom::value)
      .then(
          [this, finish](std::vector<peer_status>& peers) mutable {
            auto acc = std::make_shared<fan_in<std::vector<broker_report>>>();
            acc->pending = peers.size() + 1;
            acc->done = finish;
            // Brokers seen before and no longer in the cluster: down.
            auto now = inspector_wall_ms();
            std::set<int32_t> listed;
            for (const auto& p : peers) {
              listed.insert(p.broker_id);
              auto& s = seen_[p.broker_id];
              s.last_listed_ms = now;
              if (s.address.empty()) s.address = p.host + ":" + std::to_string(p.port);
            }
            for (const auto& [id, s] : seen_) {
              if (listed.count(id) || id == settings_.broker_id) continue;
              broker_report r;
              r.broker_id = id;
              r.address = s.address;
              r.up = false;
              r.error = "not registered in the cluster for " +
                        std::to_string((now - s.last_listed_ms) / 1000) +
                        " s (its lease was revoked or expired: stopped, killed or cut off)";
              r.taken_at_ms = now;
              acc->value.push_back(std::move(r));
            }
            gather_local([acc](broker_report r) {
              acc->value.push_back(std::move(r));
              acc->part_done();
            });
            for (const auto& p : peers) {
              ask_peer(p, [this, acc](broker_report r) {
                if (r.up && !r.address.empty()) seen_[r.broker_id].address = r.address;
                acc->value.push_back(std::move(r));
                acc->part_done();
              });
            }
          },
          [this, finish](caf::error& err) mutable {
            // Without the peer list only this broker can be shown; the
            // answer says why the others are missing.
            auto why = "PEERS did not answer: " + self_->system().render(err);
            gather_local([finish, why](broker_report r) mutable {
              r.error = why;
              finish({std::move(r)});
            });
          });
  return rp;
}

void inspector_state::gather_local(std::function<void(broker_report)> done) {
  struct gather {
    fan_in<broker_report> acc;
    std::vector<actor_directory::entry> entries;
    size_t next = 0;  ///< the next entry to ask
  };
  auto g = std::make_shared<gather>();
  if (settings_.directory) g->entries = settings_.directory->snapshot();
  auto& acc = g->acc;
  acc.value.broker_id = settings_.broker_id;
  acc.value.address = settings_.address;
  acc.value.actors.resize(g->entries.size());
  acc.pending = g->entries.size() + 1;  // + 1: the broker-wide part, below
  acc.done = [done = std::move(done)](broker_report r) {
    r.taken_at_ms = inspector_wall_ms();
    done(std::move(r));
  };
  for (size_t i = 0; i < g->entries.size(); ++i) {
    acc.value.actors[i].path = g->entries[i].path;
    acc.value.actors[i].kind = g->entries[i].kind;
  }
  // At most max_in_flight actors are asked at once, the next one when one
  // answers: a burst of inspections in the scheduler's queue would delay
  // every message queued behind it (docs/benchmarks.md, "Inspector cost").
  auto ask_next = std::make_shared<std::function<void()>>();
  *ask_next = [this, g, weak = std::weak_ptr<std::function<void()>>(ask_next)] {
    auto self_fn = weak.lock();
    while (g->next < g->entries.size()) {
      auto i = g->next++;
      auto handle = caf::actor_cast<caf::actor>(g->entries[i].handle.lock());
      auto& slot = g->acc.value.actors[i];
      if (!handle) {
        slot.answered = false;
        slot.error = "exited";
        g->acc.part_done();
        continue;
      }
      self_->request(handle, settings_.timeout, inspect_atom::value)
          .then(
              [g, i, self_fn](actor_report& r) {
                auto& s = g->acc.value.actors[i];
                r.path = std::move(s.path);
                r.kind = std::move(s.kind);
                s = std::move(r);
                g->acc.part_done();
                if (self_fn) (*self_fn)();
              },
              [this, g, i, self_fn](caf::error& err) {
                auto& s = g->acc.value.actors[i];
                s.answered = false;
                s.error = err == caf::sec::request_timeout
                              ? "no answer within " + inspector_ms(settings_.timeout)
                              : self_->system().render(err);
                g->acc.part_done();
                if (self_fn) (*self_fn)();
              });
      return;  // one more out; the next goes when an answer comes
    }
  };
  for (size_t k = 0; k < std::max<size_t>(1, settings_.max_in_flight); ++k) (*ask_next)();
  if (settings_.broker_metrics) settings_.broker_metrics(acc.value.metrics);
  acc.part_done();
}

void inspector_state::ask_peer(const peer_status& p, std::function<void(broker_report)> done) {
  auto down = [id = p.broker_id, address = p.host + ":" + std::to_string(p.port)](std::string why) {
    broker_report r;
    r.broker_id = id;
    r.address = address;  // the cluster port: its RPC address is in its own report
    r.up = false;
    r.error = std::move(why);
    r.taken_at_ms = inspector_wall_ms();
    return r;
  };
  if (p.state != peer_state::up) {
    done(down(std::string{"link "} + to_string(p.state) +
              (p.last_error.empty() ? "" : ": " + p.last_error)));
    return;
  }
  auto wait = settings_.timeout * 2;
  self_->request(settings_.peers, settings_.timeout, node_atom::value, p.broker_id)
      .then(
          [this, done, down, wait](node_actor& node) {
            self_->request(node, wait, inspect_atom::value, node_atom::value)
                .then([done](broker_report& r) { done(std::move(r)); },
                      [this, done, down, wait](caf::error& err) {
                        done(down(err == caf::sec::request_timeout
                                      ? "no answer within " + inspector_ms(wait)
                                      : self_->system().render(err)));
                      });
          },
          [this, done, down](caf::error& err) { done(down(self_->system().render(err))); });
}

}  // namespace actormq
