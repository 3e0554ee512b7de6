#include "txn_commands.h"

#include <cstdio>
#include <memory>

#include "actormq/client/transaction_producer.h"
#include "cli_common.h"

namespace actormq::cli {

namespace {

struct txn_options {
  std::string id;
  std::string decision;
  bool all = false;
};

int txn_list(const std::string& broker, bool all) {
  auto conn = client::connection::connect(connection_for(broker));
  if (!conn) return fail(conn.err().to_string());
  auto txns = client::transaction_admin(*conn).list();
  if (!txns) return fail("cannot list transactions: " + txns.err().to_string());
  std::printf("%-10s %-20s %-24s %-12s %-10s %s\n", "TXN-ID", "GROUP", "TARGET", "STATE", "AGE-MS",
              "CHECKS");
  for (const auto& t : *txns) {
    if (!all && t.state != "open") continue;
    auto target = t.topic + "-" + std::to_string(t.partition);
    std::printf("%-10s %-20s %-24s %-12s %-10lld %u\n", t.txn_id.c_str(), t.producer_group.c_str(),
                target.c_str(), t.state.c_str(), static_cast<long long>(t.age_ms), t.checks);
  }
  return 0;
}

int txn_resolve(const std::string& broker, const std::string& id, const std::string& decision) {
  auto conn = client::connection::connect(connection_for(broker));
  if (!conn) return fail(conn.err().to_string());
  bool commit = decision == "commit";
  if (auto r = client::transaction_admin(*conn).resolve(id, commit); !r) {
    return fail("cannot " + decision + " transaction " + id + ": " + r.err().to_string());
  }
  std::printf("transaction %s %s\n", id.c_str(), commit ? "committed" : "rolled back");
  return 0;
}

}  // namespace

std::function<int(const std::string& broker)> add_txn_commands(CLI::App& app) {
  auto o = std::make_shared<txn_options>();
  auto* txn = app.add_subcommand("txn", "list and resolve transactional messages");
  txn->require_subcommand(1);
  auto* list = txn->add_subcommand("list", "open transactions: age and checks made");
  list->add_flag("--all,-a", o->all, "also recently committed, rolled back and unresolved ones");
  auto* resolve = txn->add_subcommand("resolve", "commit or roll back a transaction by id");
  resolve->add_option("id", o->id, "transaction id (from txn list)")->required();
  resolve->add_option("decision", o->decision, "commit or rollback")
      ->required()
      ->check(CLI::IsMember({"commit", "rollback"}));
  return [o, list, resolve](const std::string& broker) -> int {
    if (list->parsed()) return txn_list(broker, o->all);
    if (resolve->parsed()) return txn_resolve(broker, o->id, o->decision);
    return -1;
  };
}

}  // namespace actormq::cli
