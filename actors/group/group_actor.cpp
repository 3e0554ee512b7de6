#include "actors/group/group_actor.h"

#include "actors/errc.h"
#include "actors/group/group_actor_state.h"
#include "actors/logger.h"

namespace actormq {

namespace {

constexpr auto group_tick = std::chrono::milliseconds(250);

group_actor::behavior_type group_behavior(group_actor::stateful_pointer<group_actor_state> self,
                                          std::string name, std::filesystem::path dir,
                                          coordinator_settings cs) {
  if (auto err = self->state.init(self, name, dir, cs.registry, cs.cluster_topics,
                                  cs.min_session_timeout_ms, cs.max_session_timeout_ms)) {
    actor_log().error("group {}: cannot start: {}", name, text_of(err));
    self->quit(err);
  } else {
    self->delayed_send(self, group_tick, expire_atom::value);
  }
  return {
      [=](join_atom, group::join_request& req, const std::string& strategy) {
        return self->state.join(std::move(req), strategy);
      },
      [=](heartbeat_atom, const std::string& member, int32_t gen) {
        return self->state.heartbeat(member, gen);
      },
      [=](leave_atom, const std::string& member) { return self->state.leave(member); },
      [=](commit_atom, const std::string& member, int32_t gen,
          const std::vector<committed_offset>& offsets) {
        return self->state.commit(member, gen, offsets);
      },
      [=](committed_atom, const std::vector<group::topic_partition>& tps) {
        return self->state.committed(tps);
      },
      [=](describe_atom) { return self->state.describe(); },
      [=](expire_atom) {
        self->state.tick();
        self->delayed_send(self, group_tick, expire_atom::value);
      },
  };
}

struct coordinator_state {
  static constexpr const char* name = "group_coordinator";
  coordinator_settings settings;
  std::map<std::string, group_actor> groups;
};

group_coordinator_actor::behavior_type coordinator_behavior(
    group_coordinator_actor::stateful_pointer<coordinator_state> self, coordinator_settings cs) {
  self->state.settings = std::move(cs);
  auto spawn_group = [self](const std::string& name) {
    auto dir = self->state.settings.data_dir / "groups" / name;
    auto g = self->spawn(group_behavior, name, dir, self->state.settings);
    self->state.groups[name] = g;
    return g;
  };
  // Restore every group that has a directory (committed offsets).
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(self->state.settings.data_dir / "groups", ec)) {
    if (e.is_directory()) spawn_group(e.path().filename().string());
  }
  return {
      [=](group_atom, const std::string& name) -> caf::result<group_actor> {
        if (auto why = invalid_topic_name(name, true)) {
          return make_error(errc::invalid_request, "group name: " + *why);
        }
        if (auto it = self->state.groups.find(name); it != self->state.groups.end()) {
          return it->second;
        }
        return spawn_group(name);
      },
      [=](close_atom) {
        for (auto& [n, g] : self->state.groups) self->send_exit(g, caf::exit_reason::user_shutdown);
        self->state.groups.clear();
        self->quit();
      },
      [=](list_atom) {
        std::vector<std::string> names;
        for (const auto& [n, g] : self->state.groups) names.push_back(n);
        return names;
      },
  };
}

}  // namespace

caf::expected<group_coordinator_actor> spawn_group_coordinator(caf::actor_system& sys,
                                                               coordinator_settings settings) {
  std::error_code ec;
  std::filesystem::create_directories(settings.data_dir / "groups", ec);
  if (ec) return make_error(errc::storage_error, "create groups dir: " + ec.message());
  return sys.spawn(coordinator_behavior, std::move(settings));
}

}  // namespace actormq
