#include "actors/inspect/actor_directory.h"

#include <caf/all.hpp>

#include <algorithm>

namespace actormq {

void actor_directory::enlist(const caf::actor& a, std::string path, std::string kind) {
  if (!a) return;
  auto id = a.id();
  {
    std::lock_guard lk(mu_);
    auto [it, fresh] = entries_.insert_or_assign(
        id, entry{std::move(path), std::move(kind), caf::actor_cast<caf::weak_actor_ptr>(a)});
    (void)it;
    if (!fresh) return;  // already watched
  }
  // Runs at once when a has already exited. The directory may be gone by
  // then (a broker shutting down): hence the weak pointer.
  std::weak_ptr<actor_directory> weak = weak_from_this();
  a->attach_functor([weak, id] {
    if (auto dir = weak.lock()) dir->remove(id);
  });
}

std::vector<actor_directory::entry> actor_directory::snapshot() const {
  std::vector<entry> out;
  {
    std::lock_guard lk(mu_);
    out.reserve(entries_.size());
    for (const auto& [id, e] : entries_) out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.path < b.path; });
  return out;
}

size_t actor_directory::size() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

void actor_directory::remove(caf::actor_id id) {
  std::lock_guard lk(mu_);
  entries_.erase(id);
}

}  // namespace actormq
