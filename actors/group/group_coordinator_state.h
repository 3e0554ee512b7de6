#pragma once
// State of the GROUP COORDINATOR actor: which partitions of
// __consumer_offsets this broker leads, their loads, and the GROUP actors of
// the groups they hold. Handlers in group_actor.cpp call one method each.
//
// A partition is idle (not led here: its groups' requests wait up to 2 s
// for a lead, since the RPC layer's view can be ahead of the replica
// manager, then get not_coordinator), loading (its log is being replayed: requests wait) or
// ready (groups spawn on first use, seeded with their replayed offsets). A
// lead with a new epoch or partition actor reloads; a follow stops the
// partition's groups (their members rejoin at the new coordinator).
//
// Upgrade: offsets a previous release kept in <data>/groups/<g>/offsets.log
// are read once at start; when the partition of such a group is loaded,
// every key the log does not have yet is written to it, and the old
// directory is removed once that write is acknowledged.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "actors/group/group_actor.h"
#include "actors/inspect/counted_actor.h"

namespace actormq {

class group_coordinator_state {
 public:
  using self_ptr = inspected_pointer<group_coordinator_actor, group_coordinator_state>;
  static constexpr const char* name = "group_coordinator";

  void init(self_ptr self, coordinator_settings settings);
  caf::result<group_actor> group(const std::string& name);
  void lead(uint32_t partition, int32_t epoch, partition_actor log, uint32_t partitions);
  void resign(uint32_t partition);
  void tick();
  /// Timer: starts a compaction of each ready partition that is due.
  void compact_due();
  /// Names of the groups of the partitions led here, once none is loading.
  caf::result<std::vector<std::string>> list();
  /// delete_atom: the group's actor (spawned if dormant) deletes it, then
  /// the name is forgotten here.
  caf::result<bool> remove(const std::string& name);
  void close();
  /// The actor inspector's part (group_coordinator_inspect.cpp).
  void inspect(actor_report& r) const;

 private:
  using offsets_map = std::map<std::pair<std::string, int32_t>, group::offset_value>;
  enum class status { idle, loading, ready };
  struct slot {
    status state = status::idle;
    int32_t epoch = -1;
    partition_actor log;
    uint64_t load = 0;  ///< id of the load under way (a newer lead replaces it)
    std::map<std::string, offsets_map> loaded;  ///< replayed, by group (until spawned)
    std::vector<std::pair<std::string, caf::typed_response_promise<group_actor>>> waiting;
    bool retry = false;  ///< the load failed; tick() starts it again
    bool compacting = false;
    /// Live records as of the last load or compaction: the log may grow to
    /// compact_ratio times this before it is compacted again.
    int64_t live_records = 0;
  };
  using waiter = std::pair<std::string, caf::typed_response_promise<group_actor>>;

  /// Answers or parks one group request.
  void route(const std::string& name, caf::typed_response_promise<group_actor> rp);
  /// Alone: creates (or finds) __consumer_offsets and leads every partition.
  void lead_all_alone();
  void start_load(uint32_t p);
  void migrate_legacy(uint32_t p, uint64_t load);
  void finish_load(uint32_t p, uint64_t load);
  void retry_load(uint32_t p, uint64_t load, const caf::error& why);
  void stop_groups(uint32_t p);
  void maybe_compact(uint32_t p);
  void compact(uint32_t p);
  group_actor spawn_group(const std::string& name, uint32_t p);
  void read_legacy();
  bool current(uint32_t p, uint64_t load) const {
    return p < slots_.size() && slots_[p].load == load && slots_[p].state == status::loading;
  }

  self_ptr self_ = nullptr;
  coordinator_settings settings_;
  std::vector<slot> slots_;
  uint64_t next_load_ = 1;
  bool tick_armed_ = false;
  /// Alone, before __consumer_offsets is open: requests wait here.
  std::vector<waiter> early_;
  std::vector<caf::typed_response_promise<std::vector<std::string>>> list_waiting_;
  /// In a cluster: requests for a partition not led here (yet), until the
  /// lead comes or their wait ends (then not_coordinator).
  struct unled_request {
    std::string name;
    caf::typed_response_promise<group_actor> rp;
    std::chrono::steady_clock::time_point until;
  };
  std::vector<unled_request> unled_;
  void arm_tick();
  bool loading() const;
  /// Delivers the names of the groups with members or offsets.
  void answer_list(caf::typed_response_promise<std::vector<std::string>> rp);
  void answer_lists();
  /// Drops name's entry if it is still g (a deleted group's actor quit).
  void forget(const std::string& name, const group_actor& g);
  std::map<std::string, std::pair<group_actor, uint32_t>> groups_;
  /// The previous release's offsets not yet moved, by group.
  std::map<std::string, offsets_map> legacy_;
};

}  // namespace actormq
