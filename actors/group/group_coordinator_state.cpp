#include "actors/group/group_coordinator_state.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>

#include "actors/errc.h"
#include "actors/group/group_actor_state.h"
#include "actors/logger.h"
#include "actors/state/compaction_policy.h"
#include "actors/state/partition_replay.h"
#include "storage/offset_store.h"
#include "storage/record_batch_builder.h"

namespace actormq {

namespace {

constexpr auto registry_timeout = std::chrono::seconds(10);
constexpr auto retry_after = std::chrono::seconds(1);
/// How long a request for a partition not (yet) led here waits for its lead.
constexpr auto unled_wait = std::chrono::seconds(2);
/// The tick while such requests wait.
constexpr auto tick_every = std::chrono::milliseconds(100);
/// Bound of the upgrade's write (acks=all waits for the in-sync replicas).
constexpr auto migrate_timeout = std::chrono::seconds(10);
/// Bound of each step of a group delete (the lookup, which may wait for a
/// load; the GROUP actor's tombstone write, itself bounded at 10 s).
constexpr auto delete_timeout = std::chrono::seconds(12);
/// Bound of a running group's answer to a listing.
constexpr auto list_timeout = std::chrono::seconds(5);

caf::error not_led(const std::string& group) {
  return make_error(errc::not_coordinator,
                    fmt::format("this broker does not coordinate group '{}' (it does not lead the "
                                "group's partition of {})",
                                group, group::offsets_topic));
}

}  // namespace

topic_config offsets_topic_config(uint32_t partitions, uint32_t replication_factor) {
  topic_config cfg;
  cfg.partitions = std::max<uint32_t>(partitions, 1);
  cfg.retention_ms = -1;
  cfg.retention_bytes = -1;
  cfg.segment_bytes = 16ll << 20;
  cfg.replication_factor = std::max<uint32_t>(replication_factor, 1);
  cfg.min_insync_replicas = 2;
  return cfg;
}

void group_coordinator_state::init(self_ptr self, coordinator_settings settings) {
  self_ = self;
  settings_ = std::move(settings);
  read_legacy();
  if (!settings_.replicated) lead_all_alone();
  self_->delayed_send(self_, settings_.compact_interval, compact_atom::value);
}

void group_coordinator_state::read_legacy() {
  std::error_code ec;
  auto root = settings_.data_dir / "groups";
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    if (!e.is_directory()) continue;
    auto name = e.path().filename().string();
    storage::recovery_report report;
    auto store = storage::offset_store::open(e.path(), {}, &report);
    if (!store) {
      actor_log().error("groups: cannot read {} of the previous release: {}", e.path().string(),
                        store.error().message());
      continue;
    }
    auto& out = legacy_[name];
    for (auto& [k, v] : (*store)->fetch_group(name)) {
      out[k] = group::offset_value{v.next_offset.value(), v.commit_time.value(), v.metadata};
    }
    (void)(*store)->close();
  }
  if (!legacy_.empty()) {
    actor_log().info(
        "groups: {} group(s) in the previous release's format under {}; each moves "
        "to {} when its partition loads",
        legacy_.size(), root.string(), group::offsets_topic);
  }
}

void group_coordinator_state::lead_all_alone() {
  auto cfg = offsets_topic_config(settings_.state_partitions, 1);
  self_
      ->request(settings_.registry, registry_timeout, create_atom::value,
                std::string(group::offsets_topic), cfg, internal_atom::value)
      .then(
          [this](topic_handle& h) {
            auto n = static_cast<uint32_t>(h.partitions.size());
            for (uint32_t p = 0; p < n; ++p) lead(p, 0, h.partitions[p], n);
            auto early = std::move(early_);
            early_.clear();
            for (auto& [name, rp] : early) route(name, std::move(rp));
          },
          [this](caf::error& e) {
            actor_log().error("groups: cannot open {}: {}; retrying", group::offsets_topic,
                              text_of(e));
            if (!tick_armed_) {
              tick_armed_ = true;
              self_->delayed_send(self_, retry_after, tick_atom::value);
            }
          });
}

caf::result<group_actor> group_coordinator_state::group(const std::string& name) {
  if (auto why = invalid_topic_name(name, true)) {
    return make_error(errc::invalid_request, "group name: " + *why);
  }
  if (auto it = groups_.find(name); it != groups_.end()) return it->second.first;
  auto rp = self_->make_response_promise<group_actor>();
  route(name, rp);
  return rp;
}

void group_coordinator_state::route(const std::string& name,
                                    caf::typed_response_promise<group_actor> rp) {
  if (auto it = groups_.find(name); it != groups_.end()) {
    rp.deliver(it->second.first);
    return;
  }
  if (slots_.empty() && !settings_.replicated) {
    early_.emplace_back(name, std::move(rp));
    return;
  }
  if (slots_.empty() ||
      slots_[group::state_partition_of(name, static_cast<uint32_t>(slots_.size()))].state ==
          status::idle) {
    // In a cluster the RPC layer let the request in because its view names
    // this broker as the leader; the replica manager's lead may be a few
    // milliseconds behind that view. Wait for it, briefly.
    unled_.push_back({name, std::move(rp), std::chrono::steady_clock::now() + unled_wait});
    arm_tick();
    return;
  }
  auto p = group::state_partition_of(name, static_cast<uint32_t>(slots_.size()));
  auto& s = slots_[p];
  switch (s.state) {
    case status::idle:
      break;  // handled above
    case status::loading:
      s.waiting.emplace_back(name, std::move(rp));
      return;
    case status::ready:
      rp.deliver(spawn_group(name, p));
      return;
  }
}

void group_coordinator_state::lead(uint32_t partition, int32_t epoch, partition_actor log,
                                   uint32_t partitions) {
  if (partitions > slots_.size()) slots_.resize(partitions);
  if (partition >= slots_.size() || !log) return;
  auto& s = slots_[partition];
  if (s.state != status::idle && s.epoch == epoch && s.log == log) return;
  stop_groups(partition);
  s.epoch = epoch;
  s.log = std::move(log);
  start_load(partition);
  // Requests that arrived before this lead wait for the load now.
  auto n = static_cast<uint32_t>(slots_.size());
  for (auto it = unled_.begin(); it != unled_.end();) {
    if (group::state_partition_of(it->name, n) == partition) {
      s.waiting.emplace_back(it->name, std::move(it->rp));
      it = unled_.erase(it);
    } else {
      ++it;
    }
  }
}

void group_coordinator_state::arm_tick() {
  if (tick_armed_) return;
  tick_armed_ = true;
  self_->delayed_send(self_, tick_every, tick_atom::value);
}

void group_coordinator_state::resign(uint32_t partition) {
  if (partition >= slots_.size()) return;
  auto& s = slots_[partition];
  if (s.state == status::idle) return;
  actor_log().info("groups: no longer coordinating the groups of {}-{}", group::offsets_topic,
                   partition);
  stop_groups(partition);
  s.state = status::idle;
  s.epoch = -1;
  s.log = nullptr;
  s.load = 0;
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& [name, rp] : waiting) rp.deliver(not_led(name));
  answer_lists();
}

void group_coordinator_state::start_load(uint32_t p) {
  auto& s = slots_[p];
  s.state = status::loading;
  s.retry = false;
  s.load = next_load_++;
  s.loaded.clear();
  auto load = s.load;
  auto started = std::chrono::steady_clock::now();
  auto loaded = std::make_shared<std::map<std::string, offsets_map>>();
  auto skipped = std::make_shared<uint64_t>(0);
  replay_partition(
      self_, s.log,
      [loaded, skipped](const storage::record_view& rec) {
        auto key = rec.key ? group::decode_offset_key(*rec.key) : std::nullopt;
        if (!key) {
          ++*skipped;
          return;
        }
        auto& offsets = (*loaded)[key->group];
        if (!rec.value) {
          offsets.erase({key->topic, key->partition});
          return;
        }
        auto value = group::decode_offset_value(*rec.value);
        if (!value) {
          ++*skipped;
          return;
        }
        offsets[{key->topic, key->partition}] = std::move(*value);
      },
      [this, p, load, loaded, skipped, started](caf::expected<replay_result> r) {
        if (!current(p, load)) return;
        if (!r) return retry_load(p, load, r.error());
        auto& s = slots_[p];
        for (auto it = loaded->begin(); it != loaded->end();) {
          it = it->second.empty() ? loaded->erase(it) : std::next(it);
        }
        s.loaded = std::move(*loaded);
        s.live_records = 0;
        for (const auto& [g, o] : s.loaded) s.live_records += static_cast<int64_t>(o.size());
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        actor_log().info(
            "groups: loaded {}-{} (epoch {}): {} group(s) from {} record(s), {} bytes, in {} ms",
            group::offsets_topic, p, s.epoch, s.loaded.size(), r->records, r->bytes, ms);
        if (*skipped > 0) {
          actor_log().warn("groups: {}-{}: skipped {} record(s) of an unknown kind or version",
                           group::offsets_topic, p, *skipped);
        }
        migrate_legacy(p, load);
      });
}

void group_coordinator_state::migrate_legacy(uint32_t p, uint64_t load) {
  auto& s = slots_[p];
  auto n = static_cast<uint32_t>(slots_.size());
  storage::record_batch_builder batch;
  auto now = storage::system_now();
  std::vector<std::string> moved;
  std::map<std::string, offsets_map> added;
  for (const auto& [name, offsets] : legacy_) {
    if (group::state_partition_of(name, n) != p) continue;
    moved.push_back(name);
    auto& have = s.loaded[name];
    for (const auto& [k, v] : offsets) {
      if (have.count(k)) continue;  // committed since the upgrade: newer
      group::add_offset_record(batch, {name, k.first, k.second}, v, now);
      added[name][k] = v;
    }
    if (have.empty()) s.loaded.erase(name);
  }
  if (moved.empty()) return finish_load(p, load);
  auto done = [this, p, load, moved, added]() mutable {
    if (!current(p, load)) return;
    auto& s = slots_[p];
    for (auto& [name, offsets] : added) {
      for (auto& [k, v] : offsets) s.loaded[name][k] = v;
    }
    for (const auto& name : moved) {
      std::error_code ec;
      std::filesystem::remove_all(settings_.data_dir / "groups" / name, ec);
      if (ec) {
        actor_log().warn("groups: moved group {} to {} but cannot remove its old directory: {}",
                         name, group::offsets_topic, ec.message());
      }
      legacy_.erase(name);
    }
    actor_log().info("groups: moved {} group(s) of the previous release's format to {}-{}",
                     moved.size(), group::offsets_topic, p);
    finish_load(p, load);
  };
  if (batch.empty()) return done();
  auto acks = settings_.replicated ? acks_level::all : acks_level::fsync;
  self_
      ->request(s.log, migrate_timeout, produce_atom::value,
                produce_request{std::make_shared<std::string>(batch.build()), acks})
      .then([done](produce_reply&) mutable { done(); },
            [this, p, load](caf::error& e) {
              if (current(p, load)) retry_load(p, load, e);
            });
}

void group_coordinator_state::finish_load(uint32_t p, uint64_t load) {
  if (!current(p, load)) return;
  auto& s = slots_[p];
  s.state = status::ready;
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& [name, rp] : waiting) route(name, std::move(rp));
  answer_lists();
}

void group_coordinator_state::retry_load(uint32_t p, uint64_t load, const caf::error& why) {
  if (!current(p, load)) return;
  actor_log().warn("groups: cannot load {}-{}: {}; retrying in 1 s", group::offsets_topic, p,
                   text_of(why));
  slots_[p].retry = true;
  if (!tick_armed_) {
    tick_armed_ = true;
    self_->delayed_send(self_, retry_after, tick_atom::value);
  }
}

void group_coordinator_state::tick() {
  tick_armed_ = false;
  auto now = std::chrono::steady_clock::now();
  for (auto it = unled_.begin(); it != unled_.end();) {
    if (it->until <= now) {
      it->rp.deliver(not_led(it->name));
      it = unled_.erase(it);
    } else {
      ++it;
    }
  }
  if (!unled_.empty()) arm_tick();
  if (slots_.empty() && !settings_.replicated) return lead_all_alone();
  for (uint32_t p = 0; p < slots_.size(); ++p) {
    if (slots_[p].retry && slots_[p].state == status::loading) start_load(p);
  }
}

void group_coordinator_state::stop_groups(uint32_t p) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (it->second.second == p) {
      self_->send_exit(it->second.first, caf::exit_reason::user_shutdown);
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  slots_[p].loaded.clear();
}

void group_coordinator_state::compact_due() {
  for (uint32_t p = 0; p < slots_.size(); ++p) maybe_compact(p);
  self_->delayed_send(self_, settings_.compact_interval, compact_atom::value);
}

void group_coordinator_state::maybe_compact(uint32_t p) {
  auto& s = slots_[p];
  if (s.state != status::ready || s.compacting) return;
  s.compacting = true;
  auto load = s.load;
  self_->request(s.log, registry_timeout, offsets_atom::value)
      .then(
          [this, p, load](partition_offsets& o) {
            auto& s = slots_[p];
            if (s.load != load || s.state != status::ready) return;
            if (!compaction_due(o.log_end_offset - o.log_start_offset, s.live_records,
                                settings_.compact_min_records, settings_.compact_ratio)) {
              s.compacting = false;
              return;
            }
            compact(p);
          },
          [this, p, load](caf::error&) {
            if (slots_[p].load == load) slots_[p].compacting = false;
          });
}

void group_coordinator_state::compact(uint32_t p) {
  // Every live offset of the partition is written again after all earlier
  // records of its group: the dormant groups' here, at once (a group that
  // starts afterwards writes after them), the running groups' by
  // themselves, after their own commits. Then nothing below the first of
  // those writes is needed.
  struct run {
    uint64_t load = 0;
    size_t pending = 0;
    bool failed = false;
    int64_t first = std::numeric_limits<int64_t>::max();
    int64_t live = 0;
    std::string error;
  };
  auto& s = slots_[p];
  auto r = std::make_shared<run>();
  r->load = s.load;
  auto acks = settings_.replicated ? acks_level::all : acks_level::fsync;
  auto finish = [this, p, r]() {
    if (--r->pending > 0) return;
    auto& s = slots_[p];
    if (s.load != r->load) return;
    if (r->failed || r->first == std::numeric_limits<int64_t>::max()) {
      if (r->failed) {
        actor_log().warn("groups: compaction of {}-{} abandoned: {}", group::offsets_topic, p,
                         r->error);
      }
      s.compacting = false;
      return;
    }
    self_->request(s.log, registry_timeout, delete_atom::value, r->first)
        .then(
            [this, p, r](int64_t start) {
              auto& s = slots_[p];
              if (s.load != r->load) return;
              s.compacting = false;
              s.live_records = r->live;
              actor_log().info("groups: compacted {}-{}: {} live offset(s) rewritten, log start {}",
                               group::offsets_topic, p, r->live, start);
            },
            [this, p, r](caf::error& e) {
              auto& s = slots_[p];
              if (s.load != r->load) return;
              s.compacting = false;
              actor_log().warn("groups: compaction of {}-{}: delete records: {}",
                               group::offsets_topic, p, text_of(e));
            });
  };
  auto on_written = [r, finish](const caf::expected<produce_reply>& w) mutable {
    if (!w) {
      r->failed = true;
      r->error = text_of(w.error());
    } else if (w->base_offset >= 0) {
      r->first = std::min(r->first, w->base_offset);
      r->live += w->last_offset - w->base_offset + 1;
    }
    finish();
  };
  // Dormant groups, in batches of at most 1 MiB.
  std::vector<std::string> batches;
  storage::record_batch_builder b;
  auto now = storage::system_now();
  for (const auto& [name, offsets] : s.loaded) {
    for (const auto& [k, v] : offsets) {
      group::add_offset_record(b, {name, k.first, k.second}, v, now);
      if (b.size_bytes() >= (1u << 20)) batches.push_back(b.build());
    }
  }
  if (!b.empty()) batches.push_back(b.build());
  std::vector<group_actor> running;
  for (const auto& [name, g] : groups_) {
    if (g.second == p) running.push_back(g.first);
  }
  r->pending = batches.size() + running.size() + 1;  // + 1: this function's own
  for (auto& bytes : batches) {
    self_
        ->request(s.log, migrate_timeout, produce_atom::value,
                  produce_request{std::make_shared<std::string>(std::move(bytes)), acks})
        .then([on_written](produce_reply& w) mutable { on_written(w); },
              [on_written](caf::error& e) mutable { on_written(std::move(e)); });
  }
  for (auto& g : running) {
    self_->request(g, migrate_timeout, compact_atom::value)
        .then([on_written](produce_reply& w) mutable { on_written(w); },
              [on_written](caf::error& e) mutable { on_written(std::move(e)); });
  }
  finish();
}

group_actor group_coordinator_state::spawn_group(const std::string& name, uint32_t p) {
  auto& s = slots_[p];
  group_seed seed;
  if (auto it = s.loaded.find(name); it != s.loaded.end()) {
    seed.offsets = std::move(it->second);
    s.loaded.erase(it);
  }
  seed.log = s.log;
  seed.acks = settings_.replicated ? acks_level::all : acks_level::fsync;
  auto g = spawn_group_actor(self_->home_system(), name, std::move(seed), settings_);
  groups_[name] = {g, p};
  enlist(settings_.directory, g, "group/" + name, "group");
  return g;
}

bool group_coordinator_state::loading() const {
  if (!settings_.replicated && slots_.empty()) return true;
  for (const auto& s : slots_) {
    if (s.state == status::loading) return true;
  }
  return false;
}

caf::result<std::vector<std::string>> group_coordinator_state::list() {
  auto rp = self_->make_response_promise<std::vector<std::string>>();
  if (loading()) {
    list_waiting_.push_back(rp);
  } else {
    answer_list(rp);
  }
  return rp;
}

caf::result<bool> group_coordinator_state::remove(const std::string& name) {
  if (name.rfind("__", 0) == 0) {
    return make_error(errc::invalid_request,
                      "group '" + name +
                          "' is the broker's own (such as __redrive, the re-drive "
                          "cursors); it cannot be deleted");
  }
  auto rp = self_->make_response_promise<bool>();
  // Through group_atom, which waits for a load and spawns a dormant group
  // from its replayed offsets.
  auto me = caf::actor_cast<group_coordinator_actor>(self_);
  self_->request(me, delete_timeout, group_atom::value, name)
      .then(
          [this, rp, name](group_actor& g) mutable {
            self_->request(g, delete_timeout, delete_atom::value)
                .then(
                    [this, rp, name, g](bool) mutable {
                      forget(name, g);
                      actor_log().info("group {} deleted", name);
                      rp.deliver(true);
                    },
                    [this, rp, name, g](caf::error& e) mutable {
                      if (code_of(e) == errc::unknown_group) forget(name, g);
                      rp.deliver(e);
                    });
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

void group_coordinator_state::forget(const std::string& name, const group_actor& g) {
  if (auto it = groups_.find(name); it != groups_.end() && it->second.first == g) groups_.erase(it);
}

void group_coordinator_state::answer_lists() {
  if (list_waiting_.empty() || loading()) return;
  for (auto& rp : list_waiting_) answer_list(rp);
  list_waiting_.clear();
}

void group_coordinator_state::answer_list(
    caf::typed_response_promise<std::vector<std::string>> rp) {
  // Dormant groups hold offsets by construction; a running one is asked
  // (one that does not answer, e.g. a deleted group's actor that quit, is
  // left out).
  struct round {
    std::set<std::string> names;
    size_t pending = 1;  // this function's own
    caf::typed_response_promise<std::vector<std::string>> rp;
    void done() {
      if (--pending == 0) rp.deliver(std::vector<std::string>(names.begin(), names.end()));
    }
  };
  auto r = std::make_shared<round>();
  r->rp = std::move(rp);
  for (const auto& s : slots_) {
    if (s.state != status::ready) continue;
    for (const auto& [n, o] : s.loaded) r->names.insert(n);
  }
  for (const auto& [n, g] : groups_) {
    ++r->pending;
    self_->request(g.first, list_timeout, list_atom::value)
        .then(
            [r, n = n](bool listed) {
              if (listed) r->names.insert(n);
              r->done();
            },
            [r](caf::error&) { r->done(); });
  }
  r->done();
}

void group_coordinator_state::close() {
  for (auto& [n, g] : groups_) self_->send_exit(g.first, caf::exit_reason::user_shutdown);
  groups_.clear();
  for (auto& s : slots_) {
    for (auto& [name, rp] : s.waiting) rp.deliver(make_error(errc::shutting_down, "closing"));
    s.waiting.clear();
  }
  for (auto& [name, rp] : early_) rp.deliver(make_error(errc::shutting_down, "closing"));
  early_.clear();
  for (auto& rp : list_waiting_) rp.deliver(make_error(errc::shutting_down, "closing"));
  list_waiting_.clear();
  for (auto& u : unled_) u.rp.deliver(make_error(errc::shutting_down, "closing"));
  unled_.clear();
  self_->quit();
}

}  // namespace actormq
