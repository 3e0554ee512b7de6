#pragma once
// The values the etcd client takes and returns. Keys and values are raw bytes
// in std::string (any byte, including '\0'); the client base64-encodes them
// for the gateway. Revisions and lease ids are distinct types.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/types.h"

namespace actormq::etcd {

/// etcd's store revision (a header's revision, a key's create/mod revision).
using revision = storage::named_type<int64_t, struct revision_tag>;
/// A lease's id; lease_id{0} means "no lease".
using lease_id = storage::named_type<int64_t, struct lease_id_tag>;

/// One endpoint of the cluster, parsed from "http://host:port".
struct endpoint {
  std::string host;
  uint16_t port = 0;
  std::string url() const { return "http://" + host + ":" + std::to_string(port); }
};

/// One key as etcd stores it (mvccpb.KeyValue).
struct key_value {
  std::string key;
  std::string value;
  revision create_revision;  ///< revision of the put that created the key
  revision mod_revision;     ///< revision of the last put to the key
  int64_t version = 0;       ///< number of puts since the key was created
  lease_id lease;            ///< lease attached to the key, 0 if none
};

/// Answer to put.
struct put_result {
  revision header_revision;  ///< the store revision after the put
};

/// Answer to get and range (and to a range inside a txn).
struct range_result {
  revision header_revision;
  std::vector<key_value> kvs;  ///< sorted by key; empty when nothing matched
  int64_t count = 0;
};

/// Answer to erase (and to a delete inside a txn).
struct erase_result {
  revision header_revision;
  int64_t deleted = 0;  ///< number of keys removed
};

/// A condition of a txn, compared against one key (etcdserverpb.Compare).
/// A missing key has version, create_revision and mod_revision 0 and an
/// empty value, so create_revision == 0 means "the key does not exist".
struct compare {
  enum class target { value, version, create_revision, mod_revision, lease };
  enum class op { equal, not_equal, greater, less };

  std::string key;
  target what = target::version;
  op cmp = op::equal;
  std::string value;   ///< for target::value
  int64_t number = 0;  ///< for every other target

  static compare value_is(std::string key, op cmp, std::string value) {
    return {std::move(key), target::value, cmp, std::move(value), 0};
  }
  static compare version_is(std::string key, op cmp, int64_t version) {
    return {std::move(key), target::version, cmp, {}, version};
  }
  static compare create_revision_is(std::string key, op cmp, revision r) {
    return {std::move(key), target::create_revision, cmp, {}, r.value()};
  }
  static compare mod_revision_is(std::string key, op cmp, revision r) {
    return {std::move(key), target::mod_revision, cmp, {}, r.value()};
  }
  static compare lease_is(std::string key, op cmp, lease_id l) {
    return {std::move(key), target::lease, cmp, {}, l.value()};
  }
  /// create_revision == 0: the key does not exist.
  static compare absent(std::string key) {
    return create_revision_is(std::move(key), op::equal, revision{0});
  }
};

/// One operation of a txn branch.
struct txn_op {
  enum class kind { put, range, erase };

  kind what = kind::range;
  std::string key;
  std::string range_end;  ///< empty: just key (see prefix_end for a prefix)
  std::string value;      ///< for put
  lease_id lease;         ///< for put

  static txn_op put(std::string key, std::string value, lease_id lease = lease_id{0}) {
    return {kind::put, std::move(key), {}, std::move(value), lease};
  }
  static txn_op get(std::string key) { return {kind::range, std::move(key), {}, {}, {}}; }
  static txn_op range(std::string prefix);
  static txn_op erase(std::string key) { return {kind::erase, std::move(key), {}, {}, {}}; }
  static txn_op erase_prefix(std::string prefix);
};

/// The answer to one txn_op, in the order of the branch that ran.
struct txn_response {
  txn_op::kind what = txn_op::kind::range;
  revision header_revision;
  range_result range;   ///< for kind::range
  int64_t deleted = 0;  ///< for kind::erase
};

/// Answer to txn. A txn whose compares failed is still a success of the call:
/// succeeded is false and responses hold the failure branch's answers.
struct txn_result {
  revision header_revision;
  bool succeeded = false;
  std::vector<txn_response> responses;
};

struct lease_grant_result {
  revision header_revision;
  lease_id id;
  std::chrono::seconds ttl{0};  ///< the TTL etcd granted (may differ from the one asked)
};

struct lease_keepalive_result {
  revision header_revision;
  std::chrono::seconds ttl{0};  ///< TTL after the refresh, always > 0 (0 is lease_not_found)
};

struct lease_revoke_result {
  revision header_revision;
};

/// One change seen by a watch.
struct watch_event {
  enum class type { put, erase };
  type what = type::put;
  key_value kv;  ///< for erase: only key and mod_revision (the delete's revision)
  std::optional<key_value> prev_kv;  ///< the key before the change, when asked for and known
};

/// A batch of events from one gateway message, in revision order.
struct watch_update {
  revision header_revision;
  std::vector<watch_event> events;
};

struct watch_options {
  bool prefix = false;         ///< watch every key starting with the key
  revision start_revision{0};  ///< first revision to report; 0 = from now
  bool prev_kv = false;        ///< ask etcd for each change's previous key value
};

/// The smallest key greater than every key starting with prefix: the prefix
/// with its last byte below 0xff incremented and what follows dropped; "\0"
/// (etcd's "to the end of the keyspace") when no such byte exists.
std::string prefix_end(std::string_view prefix);

inline txn_op txn_op::range(std::string prefix) {
  auto end = prefix_end(prefix);
  return {kind::range,
          prefix.empty() ? std::string(1, '\0') : std::move(prefix),
          std::move(end),
          {},
          {}};
}
inline txn_op txn_op::erase_prefix(std::string prefix) {
  auto end = prefix_end(prefix);
  return {kind::erase,
          prefix.empty() ? std::string(1, '\0') : std::move(prefix),
          std::move(end),
          {},
          {}};
}

}  // namespace actormq::etcd
