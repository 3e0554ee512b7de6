#include "actors/topic/topic_registry_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "actors/errc.h"
#include "actors/flush/flusher_actor.h"
#include "actors/logger.h"
#include "actors/retry/retry_topics.h"
#include "storage/file_handle.h"
#include "storage/log.h"

namespace actormq {

namespace fs = std::filesystem;

namespace {
constexpr int64_t pid_block = 1000;
/// Supervision (on_down): a partition that ran this long restarts at once.
constexpr caf::timespan restart_quiet_period = std::chrono::minutes(1);
constexpr caf::timespan restart_backoff_min = std::chrono::milliseconds(500);
constexpr caf::timespan restart_backoff_max = std::chrono::seconds(30);
storage::status write_text(const fs::path& p, const std::string& s) {
  return storage::write_file_atomic(p, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}
}  // namespace

fs::path topic_registry_state::topic_dir(const std::string& name) const {
  return settings_.data_dir / "topics" / name;
}

caf::error topic_registry_state::load(caf::actor_system& sys, registry_settings settings) {
  sys_ = &sys;
  settings_ = std::move(settings);
  for (size_t i = 0; i < std::max<size_t>(1, settings_.flushers); ++i) {
    flushers_.push_back(spawn_flusher(sys, i));
    enlist(settings_.directory, flushers_.back(), "flusher/" + std::to_string(i), "flusher");
  }
  std::error_code ec;
  fs::create_directories(settings_.data_dir / "topics", ec);
  if (ec) {
    return make_error(errc::storage_error,
                      fmt::format("cannot create {}: {}", (settings_.data_dir / "topics").string(),
                                  ec.message()));
  }
  // Producer ids: continue after the last reserved block.
  if (auto text = storage::read_file(settings_.data_dir / "producer_ids")) {
    next_pid_ = pid_limit_ = std::atoll(text->c_str());
  }
  for (const auto& entry : fs::directory_iterator(settings_.data_dir / "topics", ec)) {
    if (!entry.is_directory()) continue;
    auto name = entry.path().filename().string();
    if (name.find(".deleted-") != std::string::npos) {
      fs::remove_all(entry.path(), ec);  // an interrupted delete
      continue;
    }
    if (topics_.count(name)) continue;  // a DLQ loaded early for its topic
    auto text = storage::read_file(entry.path() / "topic.conf");
    if (!text) {
      actor_log().error("topic dir {} has no readable topic.conf ({}); skipped",
                        entry.path().string(), text.error().message());
      continue;
    }
    auto cfg = topic_config::decode(*text);
    if (!cfg) {
      actor_log().error("topic {}: topic.conf is malformed; skipped", name);
      continue;
    }
    auto& t = topics_[name];
    t.set_config(*cfg);
    for (uint32_t p = 0; p < cfg->partitions; ++p) {
      if (auto err = start_partition(name, t, p)) return err;
    }
  }
  if (ec) return make_error(errc::storage_error, "cannot list topics: " + ec.message());
  actor_log().info("registry: {} topics loaded from {}", topics_.size(),
                   settings_.data_dir.string());
  return {};
}

void topic_registry_state::attach(self_ptr self) {
  self_ = self;
  for (auto& [name, t] : topics_) {
    for (auto& slot : t.partitions) self_->monitor(slot.actor);
  }
  self_->set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
}

caf::error topic_registry_state::start_partition(const std::string& name, topic& t, uint32_t p) {
  auto dir = topic_dir(name) / std::to_string(p);
  storage::recovery_report report;
  auto log = storage::log::open(dir, t.config.log_config(), &report);
  if (!log) {
    return from_storage(log.error(), fmt::format("open partition {}/{}", name, p));
  }
  if (!report.events.empty()) {
    actor_log().warn("partition {}/{}: recovery dropped {} bytes in {} events (see storage log)",
                     name, p, report.dropped_bytes(), report.events.size());
  }
  partition_settings ps;
  ps.topic = name;
  ps.partition = p;
  ps.flush = t.config.flush_policy();
  ps.max_messages = t.config.max_messages;
  ps.when_full = t.config.when_full;
  ps.metrics = settings_.metrics;
  ps.replicated = t.config.replicated;
  ps.isr_writer = settings_.isr_writer;
  if (t.config.max_messages > 0 && t.config.when_full == full_policy::dead_letter_oldest) {
    auto dlq = dead_letter_partition(name);
    if (!dlq) return dlq.error();
    ps.dead_letters = *dlq;
  }
  auto actor = spawn_partition(*sys_, std::move(ps), std::shared_ptr<storage::log>(std::move(*log)),
                               flushers_[p % flushers_.size()]);
  if (t.partitions.size() <= p) t.partitions.resize(p + 1);
  auto& slot = t.partitions[p];
  slot.actor = actor;
  slot.down = false;
  slot.started = caf::make_timestamp();
  if (!slot.budget) {
    slot.budget = std::make_shared<inflight_budget>();
    slot.budget->limit = settings_.inflight_limit_bytes;
  }
  owners_[actor.address()] = {name, p};
  enlist(settings_.directory, actor, "partition/" + name + "/" + std::to_string(p), "partition");
  if (self_) self_->monitor(actor);
  return {};
}

caf::expected<partition_actor> topic_registry_state::dead_letter_partition(
    const std::string& name) {
  auto dlq = retry::dlq_topic(name);
  if (auto it = topics_.find(dlq); it != topics_.end()) {
    if (it->second.partitions.empty()) {
      return make_error(errc::internal, "dead-letter topic " + dlq + " has no partition");
    }
    return it->second.partitions[0].actor;
  }
  auto dir = topic_dir(dlq);
  topic_config cfg = settings_.defaults;
  cfg.partitions = 1;
  cfg.max_messages = 0;  // never bounded itself: dead letters are not dropped
  if (auto text = storage::read_file(dir / "topic.conf")) {
    auto loaded = topic_config::decode(*text);
    if (!loaded)
      return make_error(errc::storage_error, "topic " + dlq + ": topic.conf is malformed");
    cfg = *loaded;
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error(errc::storage_error, "create " + dir.string() + ": " + ec.message());
    if (auto st = write_text(dir / "topic.conf", cfg.encode()); !st) {
      return from_storage(st.error(), "write topic.conf of " + dlq);
    }
    actor_log().info("registry: created dead-letter topic {} for {}", dlq, name);
  }
  auto& t = topics_[dlq];
  t.set_config(cfg);
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    if (auto err = start_partition(dlq, t, p)) return err;
  }
  return t.partitions[0].actor;
}

topic_handle topic_registry_state::handle_of(const std::string& name, const topic& t) const {
  topic_handle h{name, t.config, {}, {}, t.quota};
  for (const auto& slot : t.partitions) {
    h.partitions.push_back(slot.actor);
    h.budgets.push_back(slot.budget);
  }
  return h;
}

caf::result<topic_handle> topic_registry_state::create(const std::string& name, topic_config cfg,
                                                       bool allow_internal) {
  if (auto why = invalid_topic_name(name, allow_internal)) {
    return make_error(errc::invalid_topic, *why);
  }
  if (allow_internal && topics_.count(name)) return lookup(name);
  if (cfg.partitions < 1 || cfg.partitions > 10000) {
    return make_error(errc::invalid_topic, "partitions must be between 1 and 10000");
  }
  if (cfg.segment_bytes <= 0 || cfg.segment_bytes >= (1ll << 32)) {
    return make_error(errc::invalid_topic, "segment_bytes must be in (0, 4 GiB)");
  }
  if (cfg.max_messages < 0 || cfg.ttl_ms < 0) {
    return make_error(errc::invalid_topic, "max_messages and ttl_ms must not be negative");
  }
  if (topics_.count(name)) {
    return make_error(errc::topic_exists, fmt::format("topic {} already exists", name));
  }
  if (deleting_.count(name)) {
    // Its partitions are still closing: the name is free in a moment (found
    // by the rpc fuzzer, which re-creates what a script deleted).
    return make_error(errc::busy,
                      fmt::format("topic {} is still being deleted; try again shortly", name));
  }
  auto dir = topic_dir(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::storage_error, "create " + dir.string() + ": " + ec.message());
  if (auto st = write_text(dir / "topic.conf", cfg.encode()); !st) {
    return from_storage(st.error(), "write topic.conf");
  }
  auto& t = topics_[name];
  t.set_config(cfg);
  for (uint32_t p = 0; p < cfg.partitions; ++p) {
    if (auto err = start_partition(name, t, p)) {
      actor_log().error("create topic {}: {}", name, text_of(err));
      return err;
    }
  }
  actor_log().info("registry: created topic {} with {} partitions", name, cfg.partitions);
  return handle_of(name, t);
}

caf::error topic_registry_state::retire(const std::string& name, const fs::path& to, bool remove) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::unknown_topic, "unknown topic " + name);
  std::error_code ec;
  fs::rename(topic_dir(name), to, ec);
  if (ec) {
    return make_error(
        errc::storage_error,
        fmt::format("move {} to {}: {}", topic_dir(name).string(), to.string(), ec.message()));
  }
  // Only the running partitions will report down; one waiting for its
  // restart is gone already.
  size_t running = 0;
  for (auto& slot : it->second.partitions) {
    if (slot.down) continue;
    ++running;
    self_->send_exit(slot.actor, caf::exit_reason::user_shutdown);
  }
  topics_.erase(it);
  if (running == 0) {
    if (remove) {
      fs::remove_all(to, ec);
      if (ec) actor_log().warn("delete {}: {}", to.string(), ec.message());
    }
    return {};
  }
  deleting_[name] = {to, running, remove};
  return {};
}

caf::result<bool> topic_registry_state::remove(const std::string& name) {
  // Rename first so a crash mid-delete never resurrects a half-deleted topic.
  auto trash = topic_dir(name + ".deleted-" +
                         std::to_string(caf::make_timestamp().time_since_epoch().count()));
  if (auto err = retire(name, trash, true)) return err;
  actor_log().info("registry: deleted topic {}", name);
  return true;
}

caf::result<std::string> topic_registry_state::set_aside(const std::string& name) {
  if (!topics_.count(name)) return make_error(errc::unknown_topic, "unknown topic " + name);
  auto stray = settings_.data_dir / "stray";
  std::error_code ec;
  fs::create_directories(stray, ec);
  if (ec) return make_error(errc::storage_error, "create " + stray.string() + ": " + ec.message());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  auto to = stray / fmt::format("{}-{}", name, ms);
  while (fs::exists(to, ec)) to = stray / fmt::format("{}-{}", name, ++ms);
  if (auto err = retire(name, to, false)) return err;
  actor_log().warn("registry: topic {} set aside to {} (kept, not served)", name, to.string());
  return to.string();
}

caf::result<topic_handle> topic_registry_state::lookup(const std::string& name) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::unknown_topic, "unknown topic " + name);
  return handle_of(name, it->second);
}

std::vector<topic_handle> topic_registry_state::list() const {
  std::vector<topic_handle> out;
  for (const auto& [name, t] : topics_) out.push_back(handle_of(name, t));
  return out;
}

caf::result<topic_handle> topic_registry_state::grow(const std::string& name, uint32_t partitions) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::unknown_topic, "unknown topic " + name);
  auto& t = it->second;
  if (partitions <= t.config.partitions || partitions > 10000) {
    return make_error(errc::invalid_topic,
                      fmt::format("topic {} has {} partitions; the new count must be larger", name,
                                  t.config.partitions));
  }
  auto cfg = t.config;
  cfg.partitions = partitions;
  if (auto st = write_text(topic_dir(name) / "topic.conf", cfg.encode()); !st) {
    return from_storage(st.error(), "write topic.conf");
  }
  uint32_t old = t.config.partitions;
  t.set_config(cfg);
  for (uint32_t p = old; p < partitions; ++p) {
    if (auto err = start_partition(name, t, p)) return err;
  }
  return handle_of(name, t);
}

caf::result<topic_handle> topic_registry_state::set_quota(const std::string& name,
                                                          int64_t byte_rate,
                                                          int64_t message_rate) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return make_error(errc::unknown_topic, "unknown topic " + name);
  if (byte_rate < -1 || message_rate < -1) {
    return make_error(errc::invalid_topic,
                      "a produce quota is a rate >= 0 (0 = unlimited), or -1 to keep it");
  }
  auto& t = it->second;
  auto cfg = t.config;
  if (byte_rate >= 0) cfg.producer_byte_rate = byte_rate;
  if (message_rate >= 0) cfg.producer_message_rate = message_rate;
  if (cfg.producer_byte_rate == t.config.producer_byte_rate &&
      cfg.producer_message_rate == t.config.producer_message_rate) {
    return handle_of(name, t);
  }
  if (auto st = write_text(topic_dir(name) / "topic.conf", cfg.encode()); !st) {
    return from_storage(st.error(), "write topic.conf");
  }
  t.set_config(cfg);
  actor_log().info("registry: topic {} produce quota {} bytes/s, {} messages/s per producer (0 = "
                   "unlimited)",
                   name, cfg.producer_byte_rate, cfg.producer_message_rate);
  return handle_of(name, t);
}

caf::result<producer_identity> topic_registry_state::allocate_producer_id() {
  if (next_pid_ >= pid_limit_) {
    auto limit = next_pid_ + pid_block;
    if (auto st = write_text(settings_.data_dir / "producer_ids", std::to_string(limit)); !st) {
      return from_storage(st.error(), "reserve producer ids");
    }
    pid_limit_ = limit;
  }
  return producer_identity{next_pid_++, 0};
}

void topic_registry_state::close() {
  for (auto& [name, t] : topics_) {
    for (auto& slot : t.partitions) self_->send_exit(slot.actor, caf::exit_reason::user_shutdown);
  }
  for (auto& f : flushers_) self_->send_exit(f, caf::exit_reason::user_shutdown);
  topics_.clear();
  owners_.clear();
  self_->quit();
}

void topic_registry_state::on_down(const caf::down_msg& dm) {
  auto it = owners_.find(dm.source);
  if (it == owners_.end()) return;
  auto [name, p] = it->second;
  owners_.erase(it);
  if (auto d = deleting_.find(name); d != deleting_.end()) {
    if (--d->second.running == 0) {
      if (d->second.remove) {
        std::error_code ec;
        fs::remove_all(d->second.dir, ec);
        if (ec) actor_log().warn("delete {}: {}", d->second.dir.string(), ec.message());
      }
      deleting_.erase(d);
    }
    return;
  }
  auto t = topics_.find(name);
  if (t == topics_.end() || p >= t->second.partitions.size()) return;
  auto& slot = t->second.partitions[p];
  if (slot.actor.address() != dm.source) return;
  slot.down = true;
  ++slot.restarts;
  slot.last_stop = !dm.reason                              ? std::string("stopped")
                   : dm.reason.category() == errc_category ? text_of(dm.reason)
                                                           : caf::to_string(dm.reason);
  // A partition that ran a while starts again at once; one that keeps
  // stopping backs off.
  if (caf::make_timestamp() - slot.started >= restart_quiet_period) slot.backoff = {};
  actor_log().error(
      "partition {}/{} stopped ({}); restarting it{}", name, p, slot.last_stop,
      slot.backoff.count() > 0
          ? fmt::format(" in {} ms",
                        std::chrono::duration_cast<std::chrono::milliseconds>(slot.backoff).count())
          : std::string{});
  schedule_restart(name, p, slot);
}

void topic_registry_state::schedule_restart(const std::string& name, uint32_t p,
                                            partition_slot& slot) {
  auto wait = slot.backoff;
  slot.backoff = std::clamp<caf::timespan>(wait * 2, restart_backoff_min, restart_backoff_max);
  if (wait.count() > 0) {
    self_->delayed_send(self_, wait, retry_atom::value, name, p);
    return;
  }
  restart(name, p);
}

void topic_registry_state::restart(const std::string& name, uint32_t p) {
  auto t = topics_.find(name);
  if (t == topics_.end() || p >= t->second.partitions.size()) return;
  auto& slot = t->second.partitions[p];
  if (!slot.down) return;
  if (auto err = start_partition(name, t->second, p)) {
    slot.last_stop = text_of(err);
    actor_log().error("partition {}/{} cannot restart: {}; trying again in {} ms", name, p,
                      slot.last_stop,
                      std::chrono::duration_cast<std::chrono::milliseconds>(slot.backoff).count());
    schedule_restart(name, p, slot);
    return;
  }
  actor_log().info("partition {}/{} restarted (restart {})", name, p, slot.restarts);
}

}  // namespace actormq
