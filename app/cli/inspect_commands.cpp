#include "inspect_commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "actormq/client/admin.h"
#include "cli_common.h"

namespace actormq::cli {

namespace {

using nlohmann::json;

struct inspect_options {
  bool once = false;
  bool json_out = false;
  bool local = false;
  uint32_t interval_ms = 1000;
  std::string kind;
  std::string sort = "path";
  std::string path;
  int32_t broker_id = -1;
};

std::string cut(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 1) + "~";
  return s;
}

/// The table of one snapshot.
void print_table(const json& doc, const inspect_options& o) {
  struct row {
    int64_t broker;
    std::string path, kind, summary;
    uint64_t mailbox, handled;
    double rate;
  };
  std::vector<row> rows;
  size_t brokers = 0, down = 0;
  for (const auto& b : doc.value("brokers", json::array())) {
    ++brokers;
    int64_t id = b.value("broker_id", int64_t{-1});
    if (!b.value("up", false)) {
      ++down;
      std::printf("broker %lld %s DOWN: %s\n", static_cast<long long>(id),
                  b.value("address", std::string{}).c_str(),
                  b.value("error", std::string{}).c_str());
      continue;
    }
    for (const auto& a : b.value("actors", json::array())) {
      row r{id,
            a.value("path", std::string{}),
            a.value("kind", std::string{}),
            a.value("summary", std::string{}),
            a.value("mailbox", uint64_t{0}),
            a.value("handled", uint64_t{0}),
            a.value("handled_per_s", 0.0)};
      if (!a.value("answered", true)) r.summary = "NO ANSWER: " + a.value("error", std::string{});
      if (!o.kind.empty() && r.kind != o.kind) continue;
      rows.push_back(std::move(r));
    }
  }
  if (o.sort == "mailbox") {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const row& a, const row& b) { return a.mailbox > b.mailbox; });
  } else if (o.sort == "rate") {
    std::stable_sort(rows.begin(), rows.end(),
                     [](const row& a, const row& b) { return a.rate > b.rate; });
  }
  std::printf("%zu brokers (%zu down), %zu actors\n", brokers, down, rows.size());
  std::printf("%-6s %-36s %-17s %8s %10s %12s  %s\n", "BROKER", "PATH", "KIND", "MAILBOX", "MSG/S",
              "HANDLED", "STATE");
  for (const auto& r : rows) {
    std::printf("%-6lld %-36s %-17s %8llu %10.1f %12llu  %s\n", static_cast<long long>(r.broker),
                cut(r.path, 36).c_str(), cut(r.kind, 17).c_str(),
                static_cast<unsigned long long>(r.mailbox), r.rate,
                static_cast<unsigned long long>(r.handled), r.summary.c_str());
  }
}

int inspect_view(const std::string& broker, const inspect_options& o,
                 const std::atomic<bool>& stop) {
  auto admin = client::admin::create(connection_for(broker));
  if (!admin) return fail(admin.err().to_string());
  for (bool first = true; first || !stop; first = false) {
    auto text = (*admin)->inspect(!o.local);
    if (!text) return fail("inspect: " + text.err().to_string());
    if (o.json_out) {
      std::printf("%s\n", text->c_str());
    } else {
      auto doc = json::parse(*text, nullptr, false);
      if (doc.is_discarded()) return fail("inspect: the broker's answer is not JSON");
      if (!o.once) std::printf("\x1b[H\x1b[2J");  // top-like: redraw in place
      print_table(doc, o);
    }
    std::fflush(stdout);
    if (o.once) break;
    // Sleep in small steps so Ctrl-C ends the view at once.
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.interval_ms);
    while (!stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return 0;
}

int inspect_actor(const std::string& broker, const inspect_options& o) {
  auto admin = client::admin::create(connection_for(broker));
  if (!admin) return fail(admin.err().to_string());
  auto text = (*admin)->inspect(true);
  if (!text) return fail("inspect: " + text.err().to_string());
  auto doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return fail("inspect: the broker's answer is not JSON");
  json found = json::array();
  for (const auto& b : doc.value("brokers", json::array())) {
    if (o.broker_id >= 0 && b.value("broker_id", int64_t{-1}) != o.broker_id) continue;
    for (const auto& a : b.value("actors", json::array())) {
      if (a.value("path", std::string{}) != o.path) continue;
      auto entry = a;
      entry["broker_id"] = b.value("broker_id", int64_t{-1});
      found.push_back(std::move(entry));
    }
  }
  if (found.empty()) {
    return fail("no actor " + o.path +
                (o.broker_id >= 0 ? " on broker " + std::to_string(o.broker_id) : "") +
                " (actormq inspect --once lists every path)");
  }
  // One actor: the object; the same path on several brokers (a replicated
  // partition): all of them.
  std::printf("%s\n", (found.size() == 1 ? found[0] : found).dump(2).c_str());
  return 0;
}

}  // namespace

std::function<int(const std::string& broker)> add_inspect_commands(CLI::App& app,
                                                                   const std::atomic<bool>& stop) {
  auto o = std::make_shared<inspect_options>();
  auto* cmd = app.add_subcommand("inspect", "every actor of the cluster, live (the inspector)");
  cmd->add_flag("--once", o->once, "print one snapshot and exit");
  cmd->add_flag("--json", o->json_out, "print the JSON document instead of the table");
  cmd->add_flag("--local", o->local, "only the broker asked, not the whole cluster");
  cmd->add_option("--interval-ms", o->interval_ms, "refresh interval (default 1000)")
      ->check(CLI::Range(100u, 3600000u));
  cmd->add_option("--kind", o->kind, "only actors of this kind (partition, group, ...)");
  cmd->add_option("--sort", o->sort, "path, mailbox or rate (default path)")
      ->check(CLI::IsMember({"path", "mailbox", "rate"}));
  auto* actor = cmd->add_subcommand("actor", "one actor's whole state");
  actor->add_option("PATH", o->path, "its path, e.g. partition/orders/0")->required();
  actor->add_option("--broker-id", o->broker_id, "the broker it runs on (default: any)");
  return [o, cmd, actor, &stop](const std::string& broker) -> int {
    if (actor->parsed()) return inspect_actor(broker, *o);
    if (cmd->parsed()) return inspect_view(broker, *o, stop);
    return -1;
  };
}

}  // namespace actormq::cli
