#include "storage/fault_injector.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "storage/logger.h"

namespace actormq::storage {

namespace {

constexpr auto fault_poll_interval = std::chrono::milliseconds(50);

struct errno_name {
  const char* name;
  int value;
};

constexpr errno_name fault_errnos[] = {
    {"0", 0},           {"ENOSPC", ENOSPC}, {"EIO", EIO},       {"EDQUOT", EDQUOT},
    {"EROFS", EROFS},   {"EACCES", EACCES}, {"EPERM", EPERM},   {"EMFILE", EMFILE},
    {"ENFILE", ENFILE}, {"EINTR", EINTR},   {"ENOENT", ENOENT}, {"EFBIG", EFBIG},
};

std::optional<fault_op> fault_op_of(std::string_view s) {
  for (auto op :
       {fault_op::open, fault_op::write, fault_op::read, fault_op::sync, fault_op::truncate}) {
    if (s == to_string(op)) return op;
  }
  return std::nullopt;
}

std::optional<uint64_t> fault_number(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

const char* errno_text(int e) {
  for (const auto& n : fault_errnos) {
    if (n.value == e) return n.name;
  }
  return "?";
}

}  // namespace

const char* to_string(fault_op op) {
  switch (op) {
    case fault_op::open:
      return "open";
    case fault_op::write:
      return "write";
    case fault_op::read:
      return "read";
    case fault_op::sync:
      return "sync";
    case fault_op::truncate:
      return "truncate";
  }
  return "?";
}

fault_injector& fault_injector::instance() {
  static fault_injector injector;
  return injector;
}

fault_injector::fault_injector() {
  if (const char* f = std::getenv("ACTORMQ_FAULTS_FILE"); f != nullptr && *f != '\0') {
    file_ = f;
    active_.store(true);  // polled on file operations from now on
  }
}

void fault_injector::arm(fault_rule r) {
  std::lock_guard lk(mu_);
  rules_.push_back({std::move(r), 0, 0});
  update_active_locked();
}

void fault_injector::disarm() {
  std::lock_guard lk(mu_);
  rules_.clear();
  update_active_locked();
}

void fault_injector::update_active_locked() {
  active_.store(!file_.empty() || !rules_.empty(), std::memory_order_relaxed);
}

std::optional<std::string> fault_injector::parse(std::string_view text,
                                                 std::vector<fault_rule>& out) {
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    if (w.empty()) continue;
    auto bad = [&](const std::string& why) {
      return "fault rule line " + std::to_string(number) + ": " + why;
    };
    if (w.size() < 2) return bad("want OP ERRNO [path=PART] [skip=N] [count=N] [after=B]");
    fault_rule r;
    auto op = fault_op_of(w[0]);
    if (!op) return bad("unknown operation '" + w[0] + "'");
    r.op = *op;
    bool known = false;
    for (const auto& n : fault_errnos) {
      if (w[1] == n.name) {
        r.error = n.value;
        known = true;
      }
    }
    if (!known) return bad("unknown errno '" + w[1] + "'");
    for (size_t i = 2; i < w.size(); ++i) {
      auto eq = w[i].find('=');
      if (eq == std::string::npos) return bad("'" + w[i] + "' is not KEY=VALUE");
      auto key = w[i].substr(0, eq), value = w[i].substr(eq + 1);
      if (key == "path") {
        r.path = value;
        continue;
      }
      auto n = fault_number(value);
      if (!n) return bad("'" + value + "' is not a number");
      if (key == "skip") {
        r.skip = *n;
      } else if (key == "count") {
        r.count = *n;
      } else if (key == "after") {
        r.after = *n;
      } else {
        return bad("unknown key '" + key + "'");
      }
    }
    if (r.after && r.op != fault_op::write) return bad("after= applies to write only");
    if (r.error == 0 && (!r.after || *r.after == 0)) {
      return bad("errno 0 needs after=B with B > 0 (a short write)");
    }
    out.push_back(std::move(r));
  }
  return std::nullopt;
}

void fault_injector::reload_file_locked() {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(file_, ec);
  if (ec) {
    if (file_seen_) logger().warn("fault rules: {} is gone; file rules disarmed", file_.string());
    file_seen_ = false;
    file_rules_.clear();
    return;
  }
  auto size = std::filesystem::file_size(file_, ec);
  if (file_seen_ && mtime == file_mtime_ && size == file_size_) return;
  file_seen_ = true;
  file_mtime_ = mtime;
  file_size_ = size;
  std::ifstream in(file_);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<fault_rule> rules;
  if (auto err = parse(text, rules)) {
    logger().error("fault rules: {}: {}; file rules disarmed", file_.string(), *err);
    file_rules_.clear();
    return;
  }
  file_rules_.clear();
  for (auto& r : rules) file_rules_.push_back({std::move(r), 0, 0});
  logger().warn("fault rules: {} rule(s) armed from {}", file_rules_.size(), file_.string());
}

std::optional<fault_decision> fault_injector::check_slow(fault_op op,
                                                         const std::filesystem::path& path,
                                                         uint64_t bytes) {
  std::lock_guard lk(mu_);
  if (!file_.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= next_poll_) {
      next_poll_ = now + fault_poll_interval;
      reload_file_locked();
    }
  }
  const std::string p = path.string();
  for (auto* list : {&rules_, &file_rules_}) {
    for (auto& a : *list) {
      const auto& r = a.rule;
      if (r.op != op || (!r.path.empty() && p.find(r.path) == std::string::npos)) continue;
      if (r.count != 0 && a.fired >= r.count) continue;  // spent
      if (a.seen++ < r.skip) continue;
      ++a.fired;
      fired_.fetch_add(1, std::memory_order_relaxed);
      fault_decision d;
      d.error = r.error;
      if (r.after) d.allow = std::min<uint64_t>(*r.after, bytes);
      logger().warn("injected fault: {} {} on {}{}", to_string(op), errno_text(r.error), p,
                    d.allow ? " after " + std::to_string(*d.allow) + " byte(s)" : "");
      return d;
    }
  }
  return std::nullopt;
}

}  // namespace actormq::storage
