#include "app/etcd/etcd_client.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include <array>
#include <charconv>

#include "app/etcd/gateway_codec.h"
#include "app/etcd/line_buffer.h"
#include "app/etcd/logger.h"
#include "app/etcd/watch_state.h"

namespace actormq::etcd {
namespace {

// Bound of a unary answer's body: the control plane's values are small, a
// range over every partition of a large cluster is a few MiB.
constexpr uint64_t max_body_bytes = uint64_t{64} << 20;
constexpr size_t watch_read_bytes = 16 * 1024;

std::string describe(const kj::Exception& e) {
  return e.getDescription().cStr();
}

// The error that ends a watch etcd canceled.
error cancel_error(const gateway::watch_message& m) {
  if (m.compact_revision.value() > 0) {
    auto e = make_error(errc::compacted,
                        fmt::format("watch start revision compacted; oldest available is {}",
                                    m.compact_revision.value()));
    e.compact_revision = m.compact_revision.value();
    return e;
  }
  return make_error(errc::request_failed,
                    "watch canceled by etcd" +
                        (m.cancel_reason.empty() ? std::string() : ": " + m.cancel_reason));
}

}  // namespace

/// A response whose body is still to be read. body owns the HttpClient and
/// the connection (destroyed after it, in that order).
struct etcd_client::http_stream {
  unsigned status = 0;
  kj::Own<kj::AsyncInputStream> body;
};

/// One call: the endpoint it is talking to, for the timeout's message and
/// for moving on.
struct etcd_client::call_state {
  size_t endpoint = 0;
};

namespace {

struct http_reply {
  unsigned status = 0;
  std::string body;
};

// A watch's open stream and the bytes read from it but not yet parsed.
struct watch_stream {
  kj::Own<kj::AsyncInputStream> body;
  line_buffer lines;
  revision created;
  std::array<char, watch_read_bytes> buf{};
};

}  // namespace

result<std::vector<endpoint>> etcd_client::parse_endpoints(std::string_view urls) {
  std::vector<endpoint> out;
  while (!urls.empty()) {
    auto comma = urls.find(',');
    auto item = urls.substr(0, comma);
    urls = comma == std::string_view::npos ? std::string_view() : urls.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    auto original = std::string(item);
    if (item.starts_with("https://")) {
      return make_error(errc::invalid_argument, "https is not supported: " + original);
    }
    if (item.starts_with("http://")) item.remove_prefix(7);
    while (!item.empty() && item.back() == '/') item.remove_suffix(1);
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return make_error(errc::invalid_argument, "endpoint without host:port: " + original);
    }
    unsigned port = 0;
    auto digits = item.substr(colon + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || p != digits.data() + digits.size() || port == 0 || port > 65535) {
      return make_error(errc::invalid_argument, "bad port in endpoint: " + original);
    }
    out.push_back(endpoint{std::string(item.substr(0, colon)), static_cast<uint16_t>(port)});
  }
  if (out.empty()) return make_error(errc::invalid_argument, "no endpoint given");
  return out;
}

etcd_client::etcd_client(kj::Network& network, kj::Timer& timer, client_config config)
    : network_(network), timer_(timer), config_(std::move(config)), watches_(*this) {
  KJ_REQUIRE(!config_.endpoints.empty(), "etcd_client needs at least one endpoint");
}

etcd_client::~etcd_client() = default;

void etcd_client::taskFailed(kj::Exception&& exception) {
  // Watch loops turn every failure into a callback error; reaching here means
  // a callback threw.
  etcd_log().error("watch task failed: {}", describe(exception));
}

void etcd_client::move_past(size_t endpoint_index) {
  if (config_.endpoints.size() > 1 && current_ == endpoint_index) {
    current_ = (endpoint_index + 1) % config_.endpoints.size();
    etcd_log().info("next requests go to {}", config_.endpoints[current_].url());
  }
}

kj::Promise<result<etcd_client::http_stream>> etcd_client::open(kj::StringPtr path,
                                                                std::shared_ptr<std::string> body,
                                                                std::shared_ptr<call_state> call,
                                                                size_t tries_left) {
  size_t index = call->endpoint;
  const endpoint& ep = config_.endpoints[index];
  auto connected = kj::evalNow([&] {
                     return network_.parseAddress(ep.host.c_str(), ep.port);
                   }).then([](kj::Own<kj::NetworkAddress> addr) {
    auto conn = addr->connect();
    return conn.attach(kj::mv(addr));
  });
  return connected.then(
      [this, path, body,
       index](kj::Own<kj::AsyncIoStream> conn) -> kj::Promise<result<http_stream>> {
        // From here the request may reach etcd: it is not retried elsewhere.
        const endpoint& ep = config_.endpoints[index];
        auto client = kj::newHttpClient(header_table_, *conn).attach(kj::mv(conn));
        kj::HttpHeaders headers(header_table_);
        auto host = kj::str(ep.host.c_str(), ":", ep.port);
        headers.set(kj::HttpHeaderId::HOST, host);
        headers.add("Content-Type", "application/json");
        auto req = client->request(kj::HttpMethod::POST, path, headers, uint64_t{body->size()});
        // attach() keeps references as references: hand it its own copy of
        // the shared body, as this lambda (and its capture) is gone before
        // the write completes.
        auto sent = req.body->write(body->data(), body->size())
                        .attach(kj::mv(req.body), std::shared_ptr<std::string>(body));
        return sent.then([response = kj::mv(req.response)]() mutable { return kj::mv(response); })
            .then(
                [client =
                     kj::mv(client)](kj::HttpClient::Response&& r) mutable -> result<http_stream> {
                  return http_stream{r.statusCode, r.body.attach(kj::mv(client))};
                },
                [this, index](kj::Exception&& e) -> result<http_stream> {
                  auto url = config_.endpoints[index].url();
                  move_past(index);
                  return make_error(errc::unavailable, url + ": " + describe(e));
                });
      },
      [this, path, body, call, tries_left,
       index](kj::Exception&& e) -> kj::Promise<result<http_stream>> {
        auto url = config_.endpoints[index].url();
        etcd_log().debug("cannot connect to {}: {}", url, describe(e));
        move_past(index);
        if (tries_left > 1 && current_ != index) {
          call->endpoint = current_;
          return open(path, body, call, tries_left - 1);
        }
        return result<http_stream>(
            make_error(errc::unavailable,
                       fmt::format("no endpoint reachable (last {}: {})", url, describe(e))));
      });
}

template <typename T>
kj::Promise<result<T>> etcd_client::bounded(kj::Promise<result<T>> p,
                                            std::shared_ptr<call_state> call) {
  auto ms = config_.request_timeout.count();
  auto expired = timer_.afterDelay(ms * kj::MILLISECONDS).then([this, call, ms]() -> result<T> {
    auto url = config_.endpoints[call->endpoint].url();
    move_past(call->endpoint);
    return make_error(errc::timeout, fmt::format("no answer from {} within {} ms", url, ms));
  });
  return p.exclusiveJoin(kj::mv(expired));
}

template <typename T, typename Decode>
kj::Promise<result<T>> etcd_client::unary(kj::StringPtr path, std::string body, Decode decode) {
  auto call = std::make_shared<call_state>();
  call->endpoint = current_;
  auto exchange =
      open(path, std::make_shared<std::string>(std::move(body)), call, config_.endpoints.size())
          .then([](result<http_stream> s) -> kj::Promise<result<http_reply>> {
            if (!s) return result<http_reply>(s.err());
            auto status = s->status;
            auto& stream = *s->body;
            return stream.readAllText(max_body_bytes)
                .then([status](kj::String text) -> result<http_reply> {
                  return http_reply{status, std::string(text.cStr(), text.size())};
                })
                .attach(kj::mv(s->body));
          })
          .catch_([this, call](kj::Exception&& e) -> result<http_reply> {
            auto url = config_.endpoints[call->endpoint].url();
            move_past(call->endpoint);
            return make_error(errc::unavailable, url + ": " + describe(e));
          });
  return bounded(kj::mv(exchange), call).then([decode](result<http_reply> r) -> result<T> {
    if (!r) return r.err();
    if (r->status != 200) return gateway::decode_http_error(r->status, r->body);
    return decode(r->body);
  });
}

kj::Promise<result<put_result>> etcd_client::put(std::string key, std::string value,
                                                 lease_id lease) {
  return unary<put_result>("/v3/kv/put", gateway::encode_put(key, value, lease),
                           gateway::decode_put);
}

kj::Promise<result<range_result>> etcd_client::get(std::string key) {
  return unary<range_result>("/v3/kv/range", gateway::encode_range(key, {}), gateway::decode_range);
}

kj::Promise<result<range_result>> etcd_client::range(std::string prefix) {
  auto op = txn_op::range(std::move(prefix));
  return unary<range_result>("/v3/kv/range", gateway::encode_range(op.key, op.range_end),
                             gateway::decode_range);
}

kj::Promise<result<erase_result>> etcd_client::erase(std::string key) {
  return unary<erase_result>("/v3/kv/deleterange", gateway::encode_delete_range(key, {}),
                             gateway::decode_delete_range);
}

kj::Promise<result<erase_result>> etcd_client::erase_prefix(std::string prefix) {
  auto op = txn_op::erase_prefix(std::move(prefix));
  return unary<erase_result>("/v3/kv/deleterange",
                             gateway::encode_delete_range(op.key, op.range_end),
                             gateway::decode_delete_range);
}

kj::Promise<result<txn_result>> etcd_client::txn(std::vector<compare> compares,
                                                 std::vector<txn_op> success,
                                                 std::vector<txn_op> failure) {
  return unary<txn_result>("/v3/kv/txn", gateway::encode_txn(compares, success, failure),
                           gateway::decode_txn);
}

kj::Promise<result<lease_grant_result>> etcd_client::lease_grant(std::chrono::seconds ttl) {
  return unary<lease_grant_result>("/v3/lease/grant", gateway::encode_lease_grant(ttl.count()),
                                   gateway::decode_lease_grant);
}

kj::Promise<result<lease_keepalive_result>> etcd_client::lease_keepalive_once(lease_id id) {
  return unary<lease_keepalive_result>("/v3/lease/keepalive", gateway::encode_lease_id(id),
                                       gateway::decode_lease_keepalive);
}

kj::Promise<result<lease_revoke_result>> etcd_client::lease_revoke(lease_id id) {
  return unary<lease_revoke_result>("/v3/lease/revoke", gateway::encode_lease_id(id),
                                    gateway::decode_lease_revoke);
}

namespace {

// Reads lines until etcd says the watch is created (or refuses it). Lines
// after "created" stay in ws->lines for the watch loop.
kj::Promise<result<kj::Own<watch_stream>>> read_until_created(kj::Own<watch_stream> ws) {
  using R = result<kj::Own<watch_stream>>;
  while (auto line = ws->lines.next_line()) {
    auto m = gateway::decode_watch_message(*line);
    if (!m) return R(m.err());
    if (m->canceled) return R(cancel_error(*m));
    if (m->created) {
      ws->created = m->update.header_revision;
      return R(kj::mv(ws));
    }
  }
  if (ws->lines.overflowed()) {
    return R(make_error(errc::protocol_error, "watch stream sends no line breaks"));
  }
  auto& stream = *ws->body;
  auto* buf = ws->buf.data();
  return stream.tryRead(buf, 1, watch_read_bytes)
      .then([ws = kj::mv(ws)](size_t n) mutable -> kj::Promise<R> {
        if (n == 0) {
          return R(make_error(errc::unavailable, "watch stream closed before creation"));
        }
        ws->lines.append(std::string_view(ws->buf.data(), n));
        return read_until_created(kj::mv(ws));
      });
}

// The running watch: hands each message's events to the callback until
// etcd cancels the watch, the stream ends or breaks, or the handle cancels.
kj::Promise<void> run_watch(kj::Own<watch_stream> ws, std::shared_ptr<watch_state> st) {
  while (auto line = ws->lines.next_line()) {
    if (st->canceled || st->ended) return kj::READY_NOW;
    auto m = gateway::decode_watch_message(*line);
    if (!m) {
      st->deliver(m.err());
      return kj::READY_NOW;
    }
    if (!m->update.events.empty()) st->deliver(std::move(m->update));
    if (m->canceled) {
      st->deliver(cancel_error(*m));
      return kj::READY_NOW;
    }
  }
  if (st->canceled || st->ended) return kj::READY_NOW;
  if (ws->lines.overflowed()) {
    st->deliver(make_error(errc::protocol_error, "watch stream sends no line breaks"));
    return kj::READY_NOW;
  }
  auto& stream = *ws->body;
  auto* buf = ws->buf.data();
  return stream.tryRead(buf, 1, watch_read_bytes)
      .then(
          [ws = kj::mv(ws), st](size_t n) mutable -> kj::Promise<void> {
            if (n == 0) {
              st->deliver(make_error(errc::unavailable, "watch stream closed by etcd"));
              return kj::READY_NOW;
            }
            ws->lines.append(std::string_view(ws->buf.data(), n));
            return run_watch(kj::mv(ws), st);
          },
          [st](kj::Exception&& e) -> kj::Promise<void> {
            st->deliver(make_error(errc::unavailable, "watch connection lost: " + describe(e)));
            return kj::READY_NOW;
          });
}

}  // namespace

kj::Promise<result<etcd::watch>> etcd_client::watch(std::string key, watch_options options,
                                                    watch_callback callback) {
  std::string range_end;
  if (options.prefix) {
    auto op = txn_op::range(std::move(key));
    key = std::move(op.key);
    range_end = std::move(op.range_end);
  }
  auto call = std::make_shared<call_state>();
  call->endpoint = current_;
  auto body = std::make_shared<std::string>(gateway::encode_watch_create(key, range_end, options));
  using created_stream = result<kj::Own<watch_stream>>;
  auto creation = open("/v3/watch", body, call, config_.endpoints.size())
                      .then([](result<http_stream> s) -> kj::Promise<created_stream> {
                        if (!s) return created_stream(s.err());
                        if (s->status != 200) {
                          auto status = s->status;
                          auto& stream = *s->body;
                          return stream.readAllText(max_body_bytes)
                              .then([status](kj::String text) -> created_stream {
                                return gateway::decode_http_error(status, text.cStr());
                              })
                              .attach(kj::mv(s->body));
                        }
                        auto ws = kj::heap<watch_stream>();
                        ws->body = kj::mv(s->body);
                        return read_until_created(kj::mv(ws));
                      })
                      .catch_([this, call](kj::Exception&& e) -> created_stream {
                        auto url = config_.endpoints[call->endpoint].url();
                        move_past(call->endpoint);
                        return make_error(errc::unavailable, url + ": " + describe(e));
                      });
  return bounded(kj::mv(creation), call)
      .then(
          [this, callback = std::move(callback)](created_stream r) mutable -> result<etcd::watch> {
            if (!r) return r.err();
            auto ws = kj::mv(r.value());
            auto created = ws->created;
            auto state = std::make_shared<watch_state>();
            state->callback = std::move(callback);
            auto stop = kj::newPromiseAndFulfiller<void>();
            state->stop = kj::mv(stop.fulfiller);
            watches_.add(run_watch(kj::mv(ws), state).exclusiveJoin(kj::mv(stop.promise)));
            return etcd::watch(std::move(state), created);
          });
}

}  // namespace actormq::etcd
