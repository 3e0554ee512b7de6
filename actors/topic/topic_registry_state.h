#pragma once
// State of the TOPIC REGISTRY actor: the topics, their partition actors and
// the on-disk layout under <data>:
//   topics/<name>/topic.conf     topic_config::encode()
//   topics/<name>/<partition>/   one partition log per directory (storage::log)
//   topics/<name>.dlq/           dead letters of a dead-letter-oldest topic
//   producer_ids                 next unallocated producer id (decimal text)
//   stray/<name>-<unix ms>/      a topic set aside (set_aside): the cluster no
//                                longer has it; kept for the operator, never
//                                loaded or deleted by the broker

#include <caf/all.hpp>

#include <map>
#include <unordered_map>

#include "actors/inspect/counted_actor.h"
#include "actors/topic/topic_registry_actor.h"

namespace actormq {

class topic_registry_state {
 public:
  using self_ptr = inspected_pointer<topic_registry_actor, topic_registry_state>;
  static constexpr const char* name = "topic_registry";

  /// Loads every topic from disk; used before the actor runs.
  caf::error load(caf::actor_system& sys, registry_settings settings);
  void attach(self_ptr self);

  /// allow_internal: names starting with "__" are accepted, and an existing
  /// topic is returned instead of topic_exists.
  caf::result<topic_handle> create(const std::string& name, topic_config cfg,
                                   bool allow_internal = false);
  caf::result<bool> remove(const std::string& name);
  caf::result<topic_handle> lookup(const std::string& name) const;
  std::vector<topic_handle> list() const;
  caf::result<topic_handle> grow(const std::string& name, uint32_t partitions);
  /// Sets the produce quotas (-1 keeps one), persisted in topic.conf.
  caf::result<topic_handle> set_quota(const std::string& name, int64_t byte_rate,
                                      int64_t message_rate);
  /// Stops the topic's partitions and moves its directory to
  /// <data>/stray/<name>-<unix ms>/; the path it went to.
  caf::result<std::string> set_aside(const std::string& name);
  caf::result<producer_identity> allocate_producer_id();
  /// Supervision: a partition actor stopped (a write error left its log
  /// unusable, say). It is restarted at once, and its reopen runs recovery;
  /// one that stops again within a minute of its start waits a backoff
  /// first (0.5 s doubling to 30 s), and one whose reopen fails is retried
  /// after the backoff, for as long as it takes. Meanwhile requests to it
  /// fail (retriable) and every other partition keeps serving.
  void on_down(const caf::down_msg& dm);
  /// Starts partition p of name again if it is still down.
  void restart(const std::string& name, uint32_t p);
  void close();
  /// The actor inspector's part (docs/inspector.md, "topic_registry").
  void inspect(actor_report& r) const;

 private:
  struct partition_slot {
    partition_actor actor;
    std::shared_ptr<inflight_budget> budget;
    int restarts = 0;
    bool down = false;         ///< actor stopped, restart pending
    caf::timestamp started{};  ///< when actor was spawned
    caf::timespan backoff{0};  ///< wait before the next restart
    std::string last_stop;     ///< why it stopped last (inspector)
  };
  /// Restarts the slot now or after its backoff (doubling it).
  void schedule_restart(const std::string& name, uint32_t p, partition_slot& slot);
  struct topic {
    topic_config config;
    std::vector<partition_slot> partitions;
    /// config's quotas, shared with every handle (never null).
    std::shared_ptr<topic_quota> quota = std::make_shared<topic_quota>(0, 0);
    void set_config(const topic_config& c) {
      config = c;
      quota->set(c.producer_byte_rate, c.producer_message_rate);
    }
  };

  std::filesystem::path topic_dir(const std::string& name) const;
  caf::error start_partition(const std::string& name, topic& t, uint32_t p);
  /// Partition 0 of "<name>.dlq" (dead-letter-oldest), loaded or created
  /// with one partition and no bound.
  caf::expected<partition_actor> dead_letter_partition(const std::string& name);
  topic_handle handle_of(const std::string& name, const topic& t) const;

  caf::actor_system* sys_ = nullptr;
  self_ptr self_ = nullptr;
  registry_settings settings_;
  std::vector<caf::actor> flushers_;
  std::map<std::string, topic> topics_;
  /// Partition actor address -> (topic, partition), for supervision.
  std::unordered_map<caf::actor_addr, std::pair<std::string, uint32_t>> owners_;
  /// A deleted or set-aside topic whose partition actors are still
  /// shutting down; its name cannot be created again until they are down.
  struct retiring {
    std::filesystem::path dir;  ///< where its directory went
    size_t running = 0;         ///< partition actors not down yet
    bool remove = true;         ///< delete dir once they are (false: set aside)
  };
  /// Moves the topic's directory to `to` and stops its partition actors.
  caf::error retire(const std::string& name, const std::filesystem::path& to, bool remove);
  std::map<std::string, retiring> deleting_;
  int64_t next_pid_ = 0;
  int64_t pid_limit_ = 0;  ///< ids below this are reserved on disk
};

}  // namespace actormq
