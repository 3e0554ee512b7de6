#include "app/broker/cluster/isr_writer.h"

#include <kj/async.h>

#include <map>

#include "actors/errc.h"
#include "app/broker/logger.h"
#include "app/kj_support/kj_inbox.h"

namespace actormq::broker {

void isr_writer_binding::attach(std::shared_ptr<kj_inbox> inbox, isr_write_fn write) {
  // The write runs on the KJ thread; its promise is detached there (every
  // etcd call is bounded by the client's timeout).
  handoff_.attach(std::move(inbox), [write = std::move(write)](isr_change change, done_fn done) {
    write(std::move(change))
        .then([done](caf::expected<int64_t> r) { done(std::move(r)); })
        .detach([done](kj::Exception&& e) {
          done(make_error(errc::internal,
                          std::string("in-sync set write: ") + e.getDescription().cStr()));
        });
  });
}

void isr_writer_binding::detach() {
  handoff_.detach();
}

bool isr_writer_binding::post(isr_change change, done_fn done) {
  return handoff_.post(std::move(change), std::move(done));
}

namespace {

struct isr_writer_state {
  static constexpr const char* name = "isr_writer";
  std::shared_ptr<isr_writer_binding> binding;
  uint64_t next_id = 1;
  std::map<uint64_t, caf::typed_response_promise<int64_t>> pending;
};

isr_writer_impl_actor::behavior_type isr_writer_behavior(
    isr_writer_impl_actor::stateful_pointer<isr_writer_state> self,
    std::shared_ptr<isr_writer_binding> binding) {
  self->state.binding = std::move(binding);
  return {
      [=](alter_isr_atom, std::string& topic, uint32_t partition, int32_t epoch,
          std::vector<int32_t>& isr, int64_t revision) -> caf::result<int64_t> {
        auto id = self->state.next_id++;
        auto rp = self->make_response_promise<int64_t>();
        // The answer comes back as a message to this actor: only it may
        // deliver its promises.
        auto me = caf::actor_cast<isr_writer_impl_actor>(self);
        bool queued = self->state.binding->post(
            isr_change{std::move(topic), partition, epoch, std::move(isr), revision},
            [me, id](caf::expected<int64_t> r) {
              if (r) {
                caf::anon_send(me, alter_isr_atom::value, id, *r);
              } else {
                caf::anon_send(me, alter_isr_atom::value, id, std::move(r.error()));
              }
            });
        if (!queued) {
          return make_error(errc::cluster_unavailable, "the control plane is not running");
        }
        self->state.pending.emplace(id, rp);
        return rp;
      },
      [=](alter_isr_atom, uint64_t id, int64_t revision) {
        auto it = self->state.pending.find(id);
        if (it == self->state.pending.end()) return;
        it->second.deliver(revision);
        self->state.pending.erase(it);
      },
      [=](alter_isr_atom, uint64_t id, caf::error& err) {
        auto it = self->state.pending.find(id);
        if (it == self->state.pending.end()) return;
        it->second.deliver(std::move(err));
        self->state.pending.erase(it);
      },
  };
}

}  // namespace

isr_writer_actor spawn_isr_writer(caf::actor_system& sys,
                                  std::shared_ptr<isr_writer_binding> binding) {
  return caf::actor_cast<isr_writer_actor>(sys.spawn(isr_writer_behavior, std::move(binding)));
}

}  // namespace actormq::broker
