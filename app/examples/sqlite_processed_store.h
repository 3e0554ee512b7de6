#pragma once
// sqlite_processed_store: a processed_store over the user's own SQLite
// database (the third kind processed_store.h names): table `processed(id
// TEXT PRIMARY KEY)` next to the business tables, written in the caller's
// transaction, so the id and the business change commit together or not at
// all. Used by the example consumer (idempotent_consumer.cpp) and the
// idempotence benchmark (app/bench/idempotence_bench.cpp).

#include <sqlite3.h>

#include <string>

#include "actormq/client/processed_store.h"

namespace actormq::examples {

/// A SQLite database of the user's: `processed(id)` next to the business
/// tables, written in the caller's transaction.
class sqlite_processed_store final : public client::processed_store {
 public:
  explicit sqlite_processed_store(sqlite3* db) : db_(db) {}

  client::result<bool> seen(const client::message_id& id) override {
    auto* st = prepare("SELECT 1 FROM processed WHERE id = ?1");
    if (!st) return error();
    auto text = id.to_string();
    sqlite3_bind_text(st, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error();
    return rc == SQLITE_ROW;
  }

  client::result<void> mark(const client::message_id& id) override {
    auto* st = prepare("INSERT INTO processed(id) VALUES (?1)");
    if (!st) return error();
    auto text = id.to_string();
    sqlite3_bind_text(st, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return error();
    return {};
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) return nullptr;
    return st;
  }
  client::error error() const {
    return client::error(client::errc::storage_error,
                         std::string("sqlite: ") + sqlite3_errmsg(db_));
  }

  sqlite3* db_;
};

}  // namespace actormq::examples
