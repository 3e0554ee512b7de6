#pragma once
// gateway_codec: the JSON bodies of etcd 3.4's gRPC-JSON gateway, in and out.
// Plain functions over strings, with no I/O, so the quirks can be tested
// without a server:
//  - keys and values are base64; int64 fields (revisions, lease ids, TTLs,
//    counts) are JSON strings ("revision":"12");
//  - fields holding a default value are omitted: a failed txn has no
//    "succeeded", an empty range no "kvs", a put event no "type", a header of
//    a txn sub-response only "revision";
//  - the lease grant answer names its fields "ID" and "TTL" (upper case);
//  - streaming methods (lease/keepalive, watch) wrap each message in
//    {"result":{...}} and report errors in-stream as {"error":{...}};
//  - an HTTP error carries {"error":"...","message":"...","code":<grpc code>}.
// Every decode_* returns errc::protocol_error when the body is not JSON or a
// field has the wrong type.

#include <string>
#include <string_view>
#include <vector>

#include "app/etcd/etcd_result.h"
#include "app/etcd/etcd_types.h"

namespace actormq::etcd::gateway {

std::string encode_range(std::string_view key, std::string_view range_end);
std::string encode_put(std::string_view key, std::string_view value, lease_id lease);
std::string encode_delete_range(std::string_view key, std::string_view range_end);
std::string encode_txn(const std::vector<compare>& compares, const std::vector<txn_op>& success,
                       const std::vector<txn_op>& failure);
std::string encode_lease_grant(int64_t ttl_seconds);
/// {"ID":"<id>"}: the body of lease/keepalive and lease/revoke.
std::string encode_lease_id(lease_id id);
std::string encode_watch_create(std::string_view key, std::string_view range_end,
                                const watch_options& options);

result<put_result> decode_put(std::string_view body);
result<range_result> decode_range(std::string_view body);
result<erase_result> decode_delete_range(std::string_view body);
result<txn_result> decode_txn(std::string_view body);
result<lease_grant_result> decode_lease_grant(std::string_view body);
/// A TTL absent or <= 0 means the lease is gone: errc::lease_not_found.
result<lease_keepalive_result> decode_lease_keepalive(std::string_view body);
result<lease_revoke_result> decode_lease_revoke(std::string_view body);

/// The error for a non-200 answer, from etcd's gRPC code and message:
/// NotFound "lease not found" -> lease_not_found, OutOfRange "compacted" ->
/// compacted, Unavailable -> unavailable, DeadlineExceeded -> timeout, any
/// other -> request_failed (with etcd's message).
error decode_http_error(unsigned status, std::string_view body);

/// One line of the watch stream.
struct watch_message {
  bool created = false;
  bool canceled = false;
  revision compact_revision;  ///< set when canceled because start_revision was compacted
  std::string cancel_reason;
  watch_update update;  ///< header revision and events (may be empty)
};
result<watch_message> decode_watch_message(std::string_view line);

}  // namespace actormq::etcd::gateway
