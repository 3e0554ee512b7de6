#pragma once
// etcd_client: a small asynchronous client of etcd 3.4's v3 API through its
// gRPC-JSON gateway (HTTP/1.1 + JSON on the client port), for the cluster's
// control plane (broker registrations, controller election, fenced writes,
// topic and partition state).
//
// Gateway paths used (all POST, JSON body; quirks in gateway_codec.h):
//   /v3/kv/range         get, range (prefix)
//   /v3/kv/put           put
//   /v3/kv/deleterange   erase, erase_prefix
//   /v3/kv/txn           txn (compares + success/failure ops)
//   /v3/lease/grant      lease_grant
//   /v3/lease/keepalive  lease_keepalive_once (a stream; one request, one answer)
//   /v3/lease/revoke     lease_revoke
//   /v3/watch            watch (chunked stream, one JSON object per line)
//
// Requests. Every call opens a fresh HTTP connection (no pooling: a pooled
// connection to a restarted etcd would fail the next call for nothing; the
// control plane makes a few calls a second) and resolves with a result<T>:
// the value, or an error (etcd_errc.h). The returned promise never rejects:
// kj exceptions inside (refused connection, reset, bad JSON) become errors.
//
// Endpoints and timeouts. A call starts at the current endpoint; when the
// connection to it cannot be opened it moves to the next one and tries again,
// at most once per endpoint (requests are only retried when they were never
// sent, so a txn never runs twice). The whole call, all attempts included, is
// bounded by request_timeout: errc::timeout then, and the next call starts at
// the following endpoint. errc::unavailable when no endpoint accepted the
// connection or one broke mid-request. No call waits without a bound. A
// watch's bound covers its creation only; once created it runs until
// canceled, until etcd cancels it, or until its connection is lost (a frozen
// but connected etcd is not detected by a watch: lease keepalives are).
//
// Thread-safety and ownership. Use one client from one KJ thread (the one
// running the event loop whose Network and Timer it was given); it is not
// thread-safe. The network and timer must outlive the client; the client must
// outlive every promise it returned (drop them first, as usual with KJ).
// Running watches are tasks of the client: destroying the client stops them
// without calling their callbacks. A watch handle may outlive the client.

#include <kj/async-io.h>
#include <kj/async.h>
#include <kj/compat/http.h>
#include <kj/timer.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/etcd/etcd_result.h"
#include "app/etcd/etcd_types.h"
#include "app/etcd/watch.h"

namespace actormq::etcd {

struct client_config {
  std::vector<endpoint> endpoints;
  /// Bound of one call, every endpoint tried included (and of a watch's creation).
  std::chrono::milliseconds request_timeout{2000};
};

class etcd_client final : private kj::TaskSet::ErrorHandler {
 public:
  /// Parses "http://127.0.0.1:2379,http://10.0.0.2:2379" (a scheme-less
  /// "host:port" is accepted too). https is not supported.
  static result<std::vector<endpoint>> parse_endpoints(std::string_view urls);

  /// config.endpoints must not be empty.
  etcd_client(kj::Network& network, kj::Timer& timer, client_config config);
  etcd_client(kj::AsyncIoContext& io, client_config config)
      : etcd_client(io.provider->getNetwork(), io.provider->getTimer(), std::move(config)) {}
  ~etcd_client();
  etcd_client(const etcd_client&) = delete;
  etcd_client& operator=(const etcd_client&) = delete;

  kj::Promise<result<put_result>> put(std::string key, std::string value,
                                      lease_id lease = lease_id{0});
  /// The key's value; kvs is empty when the key does not exist.
  kj::Promise<result<range_result>> get(std::string key);
  /// Every key starting with prefix (every key for an empty prefix), sorted.
  kj::Promise<result<range_result>> range(std::string prefix);
  kj::Promise<result<erase_result>> erase(std::string key);
  kj::Promise<result<erase_result>> erase_prefix(std::string prefix);
  /// Runs success when every compare holds, failure otherwise, atomically.
  kj::Promise<result<txn_result>> txn(std::vector<compare> compares, std::vector<txn_op> success,
                                      std::vector<txn_op> failure = {});

  kj::Promise<result<lease_grant_result>> lease_grant(std::chrono::seconds ttl);
  /// Refreshes the lease once; errc::lease_not_found when it expired or was revoked.
  kj::Promise<result<lease_keepalive_result>> lease_keepalive_once(lease_id id);
  /// Revokes the lease (its keys are deleted); errc::lease_not_found when already gone.
  kj::Promise<result<lease_revoke_result>> lease_revoke(lease_id id);

  /// Watches key (or every key starting with it when options.prefix).
  /// Resolves once etcd created the watch (bounded by request_timeout), with
  /// the handle that keeps it running; changes then go to callback (see
  /// watch.h for the errors that end a watch).
  kj::Promise<result<etcd::watch>> watch(std::string key, watch_options options,
                                         watch_callback callback);

  /// The endpoint the next call starts with.
  const endpoint& current_endpoint() const { return config_.endpoints[current_]; }
  const client_config& config() const { return config_; }

 private:
  struct http_stream;
  struct call_state;

  // One pass over the endpoints: opens a connection and sends the request;
  // resolves with the response's status and body stream. Not bounded.
  kj::Promise<result<http_stream>> open(kj::StringPtr path, std::shared_ptr<std::string> body,
                                        std::shared_ptr<call_state> call, size_t tries_left);
  // open() and read the whole body, bounded by the timeout, then decode.
  template <typename T, typename Decode>
  kj::Promise<result<T>> unary(kj::StringPtr path, std::string body, Decode decode);
  // Races p against the timeout of the call.
  template <typename T>
  kj::Promise<result<T>> bounded(kj::Promise<result<T>> p, std::shared_ptr<call_state> call);
  void move_past(size_t endpoint_index);

  void taskFailed(kj::Exception&& exception) override;

  kj::Network& network_;
  kj::Timer& timer_;
  client_config config_;
  size_t current_ = 0;
  kj::HttpHeaderTable header_table_;
  kj::TaskSet watches_;
};

}  // namespace actormq::etcd
