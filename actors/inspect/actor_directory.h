#pragma once
// Every actor of one broker that the inspector shows, with its place in the
// tree (path) and kind. Whoever spawns an actor enlists it; it leaves the
// directory by itself when it exits. The INSPECTOR asks each listed actor
// for its report (inspect_atom), so an actor kind is inspectable once its
// interface answers inspect_atom and its spawner enlists it.
//
// Thread-safe (one mutex): actors are spawned and exit on many threads.

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace actormq {

class actor_directory : public std::enable_shared_from_this<actor_directory> {
 public:
  struct entry {
    std::string path;
    std::string kind;
    /// Weak: the directory never keeps an actor alive (an actor whose last
    /// handle is dropped is still collected).
    caf::weak_actor_ptr handle;
  };

  /// Lists a, until it exits. A second enlist of the same actor renames it.
  void enlist(const caf::actor& a, std::string path, std::string kind);

  /// Every listed actor, sorted by path.
  std::vector<entry> snapshot() const;

  size_t size() const;

 private:
  void remove(caf::actor_id id);

  mutable std::mutex mu_;
  std::map<caf::actor_id, entry> entries_;
};

/// Enlists a typed or untyped handle; does nothing when dir is null.
template <class Handle>
void enlist(const std::shared_ptr<actor_directory>& dir, const Handle& h, std::string path,
            std::string kind) {
  if (dir && h) dir->enlist(caf::actor_cast<caf::actor>(h), std::move(path), std::move(kind));
}

}  // namespace actormq
