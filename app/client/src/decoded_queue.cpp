#include "decoded_queue.h"

#include <algorithm>

namespace actormq::client::detail {

void decoded_queue::push(std::shared_ptr<const fetched_buffer> owner, uint32_t partition,
                         std::vector<message_view> views) {
  if (views.empty()) return;
  size_ += views.size();
  auto fetch = std::make_shared<decoded_fetch>(decoded_fetch{std::move(owner), std::move(views)});
  chunks_.push_back(chunk{std::move(fetch), partition, 0});
}

std::optional<int64_t> decoded_queue::first_offset(const topic_partition& tp) const {
  for (const auto& c : chunks_) {
    if (c.partition == tp.partition && c.topic() == tp.topic) return c.views()[c.next].offset;
  }
  return std::nullopt;
}

void decoded_queue::drop(const topic_partition& tp, int64_t from) {
  for (auto it = chunks_.begin(); it != chunks_.end();) {
    auto& c = *it;
    if (c.partition != tp.partition || c.topic() != tp.topic) {
      ++it;
      continue;
    }
    // Views are in offset order: keep those before from.
    auto& views = c.views();
    auto first = views.begin() + static_cast<std::ptrdiff_t>(c.next);
    auto cut = std::partition_point(first, views.end(),
                                    [from](const message_view& v) { return v.offset < from; });
    size_ -= static_cast<size_t>(views.end() - cut);
    views.erase(cut, views.end());
    it = c.left() == 0 ? chunks_.erase(it) : std::next(it);
  }
}

void decoded_queue::keep_only(const std::set<topic_partition>& keep) {
  std::erase_if(chunks_, [&](const chunk& c) {
    if (keep.count(topic_partition{std::string(c.topic()), c.partition})) return false;
    size_ -= c.left();
    return true;
  });
}

}  // namespace actormq::client::detail
