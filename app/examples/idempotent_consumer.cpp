// actormq-idempotent-consumer: a consumer group member that applies each
// message once per message id (client::idempotent_processor), with either
// store:
//
//   --store file    processed ids in STATE/processed.ids
//                   (client::file_processed_store); the "business change"
//                   is a line "ID VALUE" appended and fdatasync'ed to
//                   STATE/effects.txt.
//   --store sqlite  STATE/orders.db: the business change (a row of
//                   `effects`) and the processed id (a row of `processed`)
//                   commit in one SQLite transaction, through
//                   sqlite_processed_store.h: a store over the user's
//                   own database.
//
// Offsets are committed after each polled batch, so a crash between the
// processing of a message and that commit makes the group deliver it
// again; the processor then skips it. --crash-after N SIGKILLs the process
// right after the Nth message is processed, before its commit, to show it
// (tests/app/idempotent_consumer_test.cpp). --dump prints the business
// changes ("ID VALUE" per line) and exits.
//
//   actormq-idempotent-consumer --broker HOST:PORT --topic T --group G
//       --store file|sqlite --state DIR [--expect N] [--crash-after N]
//       [--timeout-ms T] [--dump]

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "actormq/client/consumer.h"
#include "actormq/client/file_processed_store.h"
#include "actormq/client/idempotent_processor.h"
#include "sqlite_processed_store.h"

using namespace actormq;
namespace fs = std::filesystem;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "actormq-idempotent-consumer: error: %s\n", what.c_str());
  return 1;
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

struct options {
  std::string broker = "127.0.0.1:9292";
  std::string topic, group, store = "file", state;
  int64_t expect = -1;
  int64_t crash_after = 0;
  int64_t timeout_ms = 10000;
  bool dump = false;
};

/// The business side of each store: apply one message, count what is
/// applied, list it.
class business {
 public:
  virtual ~business() = default;
  virtual client::processed_store& store() = 0;
  /// Runs proc.process(m, apply) inside whatever transaction the store needs.
  virtual client::result<client::idempotent_processor::outcome> process(
      client::idempotent_processor& proc, const client::message& m) = 0;
  virtual int64_t applied() = 0;
  virtual void dump() = 0;
};

class file_business final : public business {
 public:
  static std::unique_ptr<file_business> open(const fs::path& dir, std::string& why) {
    auto s = client::file_processed_store::open((dir / "processed.ids").string());
    if (!s) {
      why = s.err().to_string();
      return nullptr;
    }
    auto b = std::unique_ptr<file_business>(new file_business(std::move(*s), dir / "effects.txt"));
    b->fd_ = ::open(b->effects_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (b->fd_ < 0) {
      why = "cannot open " + b->effects_.string();
      return nullptr;
    }
    return b;
  }
  ~file_business() override {
    if (fd_ >= 0) ::close(fd_);
  }
  client::processed_store& store() override { return *store_; }
  client::result<client::idempotent_processor::outcome> process(client::idempotent_processor& proc,
                                                                const client::message& m) override {
    return proc.process(m, [this](const client::message& m) -> client::result<void> {
      auto line = m.id.to_string() + " " + m.value.value_or("") + "\n";
      if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
          ::fdatasync(fd_) != 0) {
        return client::error(client::errc::storage_error, "cannot append to effects.txt");
      }
      return {};
    });
  }
  int64_t applied() override {
    std::ifstream in(effects_);
    int64_t n = 0;
    for (std::string l; std::getline(in, l);) ++n;
    return n;
  }
  void dump() override {
    std::ifstream in(effects_);
    for (std::string l; std::getline(in, l);) std::printf("%s\n", l.c_str());
  }

 private:
  file_business(std::unique_ptr<client::file_processed_store> s, fs::path effects)
      : store_(std::move(s)), effects_(std::move(effects)) {}
  std::unique_ptr<client::file_processed_store> store_;
  fs::path effects_;
  int fd_ = -1;
};

class sqlite_business final : public business {
 public:
  static std::unique_ptr<sqlite_business> open(const fs::path& dir, std::string& why) {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir / "orders.db").c_str(), &db) != SQLITE_OK) {
      why = std::string("sqlite: ") + (db ? sqlite3_errmsg(db) : "cannot open");
      sqlite3_close(db);
      return nullptr;
    }
    auto b = std::unique_ptr<sqlite_business>(new sqlite_business(db));
    if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=FULL") ||
        !exec(db,
              "CREATE TABLE IF NOT EXISTS processed(id TEXT PRIMARY KEY);"
              "CREATE TABLE IF NOT EXISTS effects(id TEXT, value TEXT);")) {
      why = std::string("sqlite: ") + sqlite3_errmsg(db);
      return nullptr;
    }
    return b;
  }
  ~sqlite_business() override { sqlite3_close(db_); }
  client::processed_store& store() override { return store_; }
  client::result<client::idempotent_processor::outcome> process(client::idempotent_processor& proc,
                                                                const client::message& m) override {
    // The id and the change commit together, or neither does.
    if (!exec(db_, "BEGIN IMMEDIATE")) return sql_error();
    auto r = proc.process(m, [this](const client::message& m) -> client::result<void> {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db_, "INSERT INTO effects(id, value) VALUES (?1, ?2)", -1, &st,
                             nullptr) != SQLITE_OK) {
        return sql_error();
      }
      auto id = m.id.to_string();
      auto value = m.value.value_or("");
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, value.c_str(), -1, SQLITE_TRANSIENT);
      int rc = sqlite3_step(st);
      sqlite3_finalize(st);
      if (rc != SQLITE_DONE) return sql_error();
      return {};
    });
    if (!r) {
      (void)exec(db_, "ROLLBACK");
      return r;
    }
    if (!exec(db_, "COMMIT")) return sql_error();
    return r;
  }
  int64_t applied() override {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM effects", -1, &st, nullptr);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  }
  void dump() override {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT id, value FROM effects ORDER BY rowid", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::printf("%s %s\n", reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                  reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
    }
    sqlite3_finalize(st);
  }

 private:
  explicit sqlite_business(sqlite3* db) : db_(db), store_(db) {}
  client::error sql_error() const {
    return client::error(client::errc::storage_error,
                         std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  examples::sqlite_processed_store store_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ActorMQ idempotent consumer example"};
  options o;
  app.add_option("--broker", o.broker, "HOST:PORT")->capture_default_str();
  app.add_option("--topic", o.topic, "topic")->required();
  app.add_option("--group", o.group, "consumer group")->required();
  app.add_option("--store", o.store, "file or sqlite")
      ->check(CLI::IsMember({"file", "sqlite"}))
      ->capture_default_str();
  app.add_option("--state", o.state, "directory of the store and the business data")->required();
  app.add_option("--expect", o.expect, "exit once this many changes are applied");
  app.add_option("--crash-after", o.crash_after,
                 "SIGKILL itself after processing the Nth message, before committing");
  app.add_option("--timeout-ms", o.timeout_ms, "exit after this long without a message")
      ->capture_default_str();
  app.add_flag("--dump", o.dump, "print the applied changes and exit");
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  fs::create_directories(o.state, ec);
  std::string why;
  std::unique_ptr<business> biz;
  if (o.store == "sqlite") {
    biz = sqlite_business::open(o.state, why);
  } else {
    biz = file_business::open(o.state, why);
  }
  if (!biz) return fail(why);
  if (o.dump) {
    biz->dump();
    return 0;
  }

  client::consumer_config cfg;
  cfg.connection.broker = o.broker;
  cfg.group_id = o.group;
  cfg.auto_offset_reset = client::offset_reset::earliest;
  cfg.session_timeout_ms = 6000;
  cfg.fetch_max_wait_ms = 200;
  auto c = client::consumer::create(cfg);
  if (!c) return fail(c.err().to_string());
  if (auto r = (*c)->subscribe({o.topic}); !r) return fail(r.err().to_string());

  client::idempotent_processor proc(biz->store());
  int64_t handled = 0;
  auto last = std::chrono::steady_clock::now();
  while (o.expect < 0 || biz->applied() < o.expect) {
    if (std::chrono::steady_clock::now() - last > std::chrono::milliseconds(o.timeout_ms)) break;
    auto msgs = (*c)->poll(std::chrono::milliseconds(200));
    if (!msgs) {
      if (!client::is_retriable(msgs.err().value())) return fail(msgs.err().to_string());
      continue;
    }
    if (msgs->empty()) continue;
    last = std::chrono::steady_clock::now();
    for (const auto& m : *msgs) {
      auto r = biz->process(proc, m);
      if (!r) return fail(r.err().to_string());
      if (++handled == o.crash_after) {
        std::fflush(stdout);
        std::raise(SIGKILL);  // processed, not committed
      }
    }
    if (auto r = (*c)->commit_sync(); !r) {
      std::fprintf(stderr, "commit failed: %s\n", r.err().to_string().c_str());
    }
  }
  (void)(*c)->close();
  std::printf("processed %llu skipped %llu\n", static_cast<unsigned long long>(proc.processed()),
              static_cast<unsigned long long>(proc.skipped()));
  return 0;
}
