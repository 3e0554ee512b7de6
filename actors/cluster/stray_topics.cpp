#include "actors/cluster/stray_topics.h"

#include "actors/retry/retry_topics.h"

namespace actormq::cluster {

bool stray_topics::belongs_to(const std::string& name, const std::set<std::string>& cluster) {
  bool derived = name.ends_with(retry::dlq_suffix) || name.ends_with(retry::retry_suffix);
  if (!derived) return false;
  // Any prefix of name ending before a '.' may be its topic T.
  for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    if (cluster.count(name.substr(0, dot))) return true;
  }
  return false;
}

std::vector<std::string> stray_topics::find(const std::vector<std::string>& local,
                                            const std::set<std::string>& cluster,
                                            const std::set<std::string>& unreplicated) {
  std::vector<std::string> out;
  for (const auto& name : local) {
    if (cluster.count(name)) {
      if (unreplicated.count(name)) out.push_back(name);  // left by a run alone
      continue;
    }
    if (name.starts_with("__") || belongs_to(name, cluster)) continue;
    out.push_back(name);
  }
  return out;
}

}  // namespace actormq::cluster
