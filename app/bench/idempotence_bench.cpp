// actormq-idempotence-bench: what the idempotent consumer
// (client::idempotent_processor) costs per message with each store
// (docs/benchmarks.md, "Idempotent consumer"). In process, no broker: the
// consumer's fetch path is the same with or without the processor, so the
// difference is the processor and its store.
//
// For each store, N messages with distinct ids go through the same
// "business" work twice: once called directly (baseline), once through
// proc.process() (first delivery: seen + handler + mark); then a tenth of
// them again (redelivery: seen, handler skipped).
//
//   memory  memory_processed_store; business: a counter.
//   file    file_processed_store in --dir (mark() appends and fdatasyncs);
//           business: a counter, so the figure is the store's alone.
//   sqlite  examples::sqlite_processed_store in --dir/bench.db (WAL,
//           synchronous=FULL); business: a row inserted, one transaction
//           per message as app/examples/idempotent_consumer.cpp does. The
//           baseline is the same transaction without the id.
//
//   actormq-idempotence-bench [--messages N] [--store all|memory|file|sqlite]
//                             [--dir DIR]

#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../examples/sqlite_processed_store.h"
#include "actormq/client/file_processed_store.h"
#include "actormq/client/idempotent_processor.h"
#include "actormq/client/memory_processed_store.h"

using namespace actormq;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct figures {
  double baseline_ns = 0;   ///< per message, business work alone
  double first_ns = 0;      ///< per message, through the processor (first delivery)
  double redeliver_ns = 0;  ///< per message, a redelivery (skipped)
  uint64_t skipped = 0;
};

double ns_per(clock_type::duration d, size_t n) {
  return n == 0 ? 0
                : static_cast<double>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
                      static_cast<double>(n);
}

std::vector<client::message> make_messages(size_t n, uint64_t prefix) {
  std::vector<client::message> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].topic = "orders";
    out[i].offset = static_cast<int64_t>(i);
    out[i].value = std::string(100, 'v');
    out[i].id = client::message_id(prefix, i);
  }
  return out;
}

/// Runs the three passes. wrap(k) runs k inside whatever transaction the
/// store needs; business(m) is the work a message does.
figures run(client::processed_store& store, const std::vector<client::message>& baseline_msgs,
            const std::vector<client::message>& msgs,
            const std::function<bool(const std::function<bool()>&)>& wrap,
            const std::function<bool(const client::message&)>& business) {
  figures f;
  auto t0 = clock_type::now();
  for (const auto& m : baseline_msgs) {
    if (!wrap([&] { return business(m); })) {
      std::fprintf(stderr, "baseline failed\n");
      std::exit(1);
    }
  }
  f.baseline_ns = ns_per(clock_type::now() - t0, baseline_msgs.size());

  client::idempotent_processor proc(store);
  auto through = [&](const client::message& m) {
    return wrap([&] {
      auto r = proc.process(m, [&](const client::message& x) -> client::result<void> {
        if (!business(x)) return client::error(client::errc::storage_error, "business failed");
        return {};
      });
      return static_cast<bool>(r);
    });
  };
  t0 = clock_type::now();
  for (const auto& m : msgs) {
    if (!through(m)) {
      std::fprintf(stderr, "process failed\n");
      std::exit(1);
    }
  }
  f.first_ns = ns_per(clock_type::now() - t0, msgs.size());

  size_t again = std::max<size_t>(msgs.size() / 10, 1);
  t0 = clock_type::now();
  for (size_t i = 0; i < again; ++i) {
    if (!through(msgs[i * (msgs.size() / again)])) std::exit(1);
  }
  f.redeliver_ns = ns_per(clock_type::now() - t0, again);
  f.skipped = proc.skipped();
  return f;
}

void print(const char* store, size_t n, const figures& f) {
  std::printf(
      "%-7s messages=%zu baseline=%.0f ns/msg first=%.0f ns/msg (%.0f msgs/s) "
      "cost=%.0f ns/msg redelivered=%.0f ns/msg skipped=%llu\n",
      store, n, f.baseline_ns, f.first_ns, f.first_ns > 0 ? 1e9 / f.first_ns : 0,
      f.first_ns - f.baseline_ns, f.redeliver_ns, static_cast<unsigned long long>(f.skipped));
  std::fflush(stdout);
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ idempotent consumer cost per message, by store"};
  size_t messages = 200000;
  size_t durable_messages = 2000;
  std::string which = "all";
  std::string dir = "/tmp/actormq-idempotence-bench";
  app.add_option("--messages", messages, "messages for the memory store")->capture_default_str();
  app.add_option("--durable-messages", durable_messages,
                 "messages for the file and sqlite stores (one fdatasync each)")
      ->capture_default_str();
  app.add_option("--store", which, "all, memory, file or sqlite")->capture_default_str();
  app.add_option("--dir", dir, "directory for the file and sqlite stores (emptied first)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto no_tx = [](const std::function<bool()>& k) { return k(); };
  uint64_t counter = 0;
  auto count = [&](const client::message& m) {
    counter += m.value->size();
    return true;
  };

  if (which == "all" || which == "memory") {
    client::memory_processed_store store(messages);
    print("memory", messages,
          run(store, make_messages(messages, 1), make_messages(messages, 2), no_tx, count));
  }
  if (which == "all" || which == "file") {
    auto store = client::file_processed_store::open(dir + "/processed.ids", durable_messages);
    if (!store) {
      std::fprintf(stderr, "%s\n", store.err().to_string().c_str());
      return 1;
    }
    print("file", durable_messages,
          run(**store, make_messages(durable_messages, 1), make_messages(durable_messages, 2),
              no_tx, count));
  }
  if (which == "all" || which == "sqlite") {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir + "/bench.db").c_str(), &db) != SQLITE_OK ||
        !exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=FULL") ||
        !exec(db,
              "CREATE TABLE processed(id TEXT PRIMARY KEY);"
              "CREATE TABLE effects(id TEXT, value TEXT);")) {
      std::fprintf(stderr, "sqlite: %s\n", db ? sqlite3_errmsg(db) : "cannot open");
      return 1;
    }
    examples::sqlite_processed_store store(db);
    auto tx = [db](const std::function<bool()>& k) {
      if (!exec(db, "BEGIN IMMEDIATE")) return false;
      if (!k()) {
        exec(db, "ROLLBACK");
        return false;
      }
      return exec(db, "COMMIT");
    };
    auto insert = [db](const client::message& m) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "INSERT INTO effects(id, value) VALUES (?1, ?2)", -1, &st,
                             nullptr) != SQLITE_OK) {
        return false;
      }
      auto id = m.id.to_string();
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, m.value->c_str(), -1, SQLITE_TRANSIENT);
      int rc = sqlite3_step(st);
      sqlite3_finalize(st);
      return rc == SQLITE_DONE;
    };
    print("sqlite", durable_messages,
          run(store, make_messages(durable_messages, 1), make_messages(durable_messages, 2), tx,
              insert));
    sqlite3_close(db);
  }
  std::printf("checksum %llu\n", static_cast<unsigned long long>(counter));
  return 0;
}
