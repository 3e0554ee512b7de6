#include "app/broker/http_server.h"

#include <fmt/format.h>
#include <kj/debug.h>

#include <kj/compat/url.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "actors/inspect/json_writer.h"
#include "actors/inspect/prometheus_text.h"
#include "actors/inspect/report_json.h"
#include "app/broker/actor_call.h"
#include "app/broker/logger.h"
#include "app/broker/web_assets.h"
#include "storage/hex.h"

namespace actormq::broker {

namespace {

constexpr auto http_first_backoff = std::chrono::milliseconds(10);
constexpr auto http_max_backoff = std::chrono::milliseconds(1000);

/// Per-kind aggregates of a broker report: actors, summed mailbox depth,
/// actors that did not answer.
void add_kind_samples(const broker_report& r, std::vector<metric_sample>& out) {
  struct per_kind {
    uint64_t actors = 0;
    uint64_t mailbox = 0;
    uint64_t unanswered = 0;
  };
  std::map<std::string, per_kind> kinds;
  for (const auto& a : r.actors) {
    auto& k = kinds[a.kind];
    ++k.actors;
    k.mailbox += a.mailbox;
    if (!a.answered) ++k.unanswered;
  }
  for (const auto& [kind, k] : kinds) {
    std::vector<metric_label> l{{"kind", kind}};
    add_metric(out, "actormq_actors", l, static_cast<double>(k.actors));
    add_metric(out, "actormq_actor_mailbox", l, static_cast<double>(k.mailbox));
    add_metric(out, "actormq_actors_unanswered", l, static_cast<double>(k.unanswered));
  }
}

/// The path of a URL, without query or fragment.
kj::StringPtr http_path_of(kj::StringPtr url, std::string& storage) {
  std::string s{url.cStr()};
  auto cut = s.find_first_of("?#");
  storage = cut == std::string::npos ? s : s.substr(0, cut);
  return storage.c_str();
}

}  // namespace

/// One connection's service: routes each request to the server and honours
/// "Connection: close" (RFC 9112, 9.6): the answer carries "Connection:
/// close" and the server closes its side once the answer is written (kj 0.9
/// only adds the header and waits for the client).
class http_connection final : public kj::HttpService {
 public:
  http_connection(http_server& server, kj::AsyncIoStream& stream)
      : server_(server), stream_(stream) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override {
    if (!asks_close(headers)) return server_.request(method, url, headers, body, response);
    auto closing = kj::heap<closing_response>(server_, response);
    auto& r = *closing;
    return server_.request(method, url, headers, body, r)
        .then([this] { stream_.shutdownWrite(); })
        .attach(kj::mv(closing));
  }

 private:
  /// Passes every call to the real response; its headers say "close".
  class closing_response final : public Response {
   public:
    closing_response(http_server& server, Response& inner) : server_(server), inner_(inner) {}
    kj::Own<kj::AsyncOutputStream> send(uint status, kj::StringPtr text,
                                        const kj::HttpHeaders& headers,
                                        kj::Maybe<uint64_t> length) override {
      server_.close_next_ = true;  // send() asks shouldClose() before it returns
      return inner_.send(status, text, headers, length);
    }
    kj::Own<kj::WebSocket> acceptWebSocket(const kj::HttpHeaders& headers) override {
      return inner_.acceptWebSocket(headers);
    }

   private:
    http_server& server_;
    Response& inner_;
  };

  static bool asks_close(const kj::HttpHeaders& headers) {
    KJ_IF_MAYBE (value, headers.get(kj::HttpHeaderId::CONNECTION)) {
      std::string v{value->cStr()};
      std::transform(v.begin(), v.end(), v.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      return v.find("close") != std::string::npos;
    }
    return false;
  }

  http_server& server_;
  kj::AsyncIoStream& stream_;
};

http_server::http_server(kj::AsyncIoContext& io, settings s)
    : io_(io),
      settings_(std::move(s)),
      content_type_(table_builder_.add("Content-Type")),
      cache_control_(table_builder_.add("Cache-Control")),
      table_(table_builder_.build()),
      tasks_(*this) {
  kj::HttpServerSettings hs;
  hs.headerTimeout = 15 * kj::SECONDS;
  hs.pipelineTimeout = 60 * kj::SECONDS;
  hs.callbacks = static_cast<kj::HttpServerCallbacks&>(*this);
  server_ = kj::heap<kj::HttpServer>(
      io_.provider->getTimer(), *table_,
      [this](kj::AsyncIoStream& stream) -> kj::Own<kj::HttpService> {
        return kj::heap<http_connection>(*this, stream);
      },
      hs);
}

http_server::~http_server() = default;

uint16_t http_server::listen() {
  socket_ = kj::heap<tcp_listener>(io_, settings_.host, settings_.port);
  return socket_->port();
}

void http_server::serve() {
  tasks_.add(accept_loop().catch_([](kj::Exception&& e) {
    broker_log().error("http listener stopped: {} (the RPC port keeps serving)",
                       e.getDescription().cStr());
  }));
}

void http_server::taskFailed(kj::Exception&& e) {
  broker_log().debug("http connection ended: {}", e.getDescription().cStr());
}

bool http_server::shouldClose() {
  return std::exchange(close_next_, false);
}

kj::Promise<void> http_server::accept_loop() {
  return socket_->accept().then([this](accepted_connection c) -> kj::Promise<void> {
    if (c.error != 0) {
      switch (classify_accept_errno(c.error)) {
        case accept_failure::transient:
          return accept_loop();
        case accept_failure::overloaded: {
          backoff_ =
              backoff_.count() == 0 ? http_first_backoff : std::min(backoff_ * 2, http_max_backoff);
          if (auto held = shortage_log_.admit()) {
            broker_log().warn(
                "http accept: {}; retrying every {} ms ({} more since the last "
                "warning)",
                std::strerror(c.error), backoff_.count(), *held);
          }
          return io_.provider->getTimer()
              .afterDelay(backoff_.count() * kj::MILLISECONDS)
              .then([this]() { return accept_loop(); });
        }
        case accept_failure::fatal:
          return KJ_EXCEPTION(FAILED, "accept failed", std::strerror(c.error));
      }
    }
    backoff_ = std::chrono::milliseconds(0);
    if (connections_ >= settings_.max_connections) {
      // Over the limit: the socket closes at once; the client retries.
      return accept_loop();
    }
    ++connections_;
    // kj::defer of an rvalue: given an lvalue it would keep a reference to
    // a local that is gone when the connection ends.
    tasks_.add(server_->listenHttp(kj::mv(c.stream)).attach(kj::defer([this] { --connections_; })));
    return accept_loop();
  });
}

kj::Promise<void> http_server::reply(Response& response, unsigned status, kj::StringPtr status_text,
                                     const char* content_type, std::string body) {
  kj::HttpHeaders headers(*table_);
  headers.set(content_type_, content_type);
  headers.set(cache_control_, "no-store");
  auto out = response.send(status, status_text, headers, static_cast<uint64_t>(body.size()));
  auto owned = kj::heap<std::string>(std::move(body));
  auto promise = out->write(owned->data(), owned->size());
  return promise.attach(kj::mv(out), kj::mv(owned));
}

kj::Promise<void> http_server::trace(kj::StringPtr url, Response& response) {
  auto bad = [&](const std::string& why) {
    return reply(response, 400, "Bad Request", "application/json",
                 fmt::format("{{\"error\":\"{}\"}}", why));
  };
  std::string topic, id;
  std::optional<int64_t> partition, offset;
  KJ_IF_MAYBE (parsed, kj::Url::tryParse(url, kj::Url::HTTP_REQUEST)) {
    for (const auto& q : parsed->query) {
      std::string name{q.name.cStr()}, value{q.value.cStr()};
      auto number = [&]() -> std::optional<int64_t> {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc{} || p != value.data() + value.size() || v < 0) return std::nullopt;
        return v;
      };
      if (name == "topic") topic = value;
      if (name == "partition") partition = number();
      if (name == "offset") offset = number();
      if (name == "id") id = value;
    }
  } else {
    return bad("the URL does not parse");
  }
  // By message id: 32 hex digits, the 16 bytes of the amq-id header.
  std::string id_bytes;
  if (!id.empty()) {
    auto bytes = storage::from_hex(id);
    if (!bytes || bytes->size() != 16) return bad("id must be 32 hex digits (a message id)");
    id_bytes = std::move(*bytes);
    if (topic.empty()) return bad("give the topic of the message id");
  } else if (topic.empty() || !partition || !offset || *partition > INT32_MAX) {
    return bad("give topic, partition and offset (numbers >= 0), or topic and id");
  }
  if (!settings_.retry) {
    return reply(response, 503, "Service Unavailable", "application/json",
                 "{\"error\":\"no RETRY actor\"}");
  }
  auto asked =
      id_bytes.empty()
          ? ask<std::string>(*settings_.system, settings_.retry, std::chrono::seconds(60),
                             trace_atom::value, topic, static_cast<int32_t>(*partition), *offset)
          : ask<std::string>(*settings_.system, settings_.retry, std::chrono::seconds(60),
                             trace_atom::value, topic, id_bytes);
  return asked.then([this, &response](caf::expected<std::string> r) {
    if (!r) {
      json_writer w;
      w.begin_object().field("error", settings_.system->render(r.error())).end_object();
      return reply(response, 503, "Service Unavailable", "application/json", w.take());
    }
    return reply(response, 200, "OK", "application/json", std::move(*r));
  });
}

kj::Promise<void> http_server::request(kj::HttpMethod method, kj::StringPtr url,
                                       const kj::HttpHeaders&, kj::AsyncInputStream&,
                                       Response& response) {
  std::string storage;
  auto path = http_path_of(url, storage);
  if (method != kj::HttpMethod::GET) {
    return reply(response, 405, "Method Not Allowed", "text/plain; charset=utf-8",
                 "only GET is served here\n");
  }
  if (path == "/healthz") return reply(response, 200, "OK", "text/plain; charset=utf-8", "ok\n");
  if (path == "/metrics") {
    return ask<broker_report>(*settings_.system, settings_.inspector, settings_.timeout,
                              inspect_atom::value)
        .then([this, &response](caf::expected<broker_report> r) {
          if (!r) {
            return reply(response, 503, "Service Unavailable", "text/plain; charset=utf-8",
                         "inspector: " + settings_.system->render(r.error()) + "\n");
          }
          std::vector<metric_sample> samples = std::move(r->metrics);
          add_metric(samples, "actormq_broker_info",
                     {{"broker", std::to_string(r->broker_id)}, {"address", r->address}}, 1);
          add_kind_samples(*r, samples);
          for (auto& a : r->actors) {
            for (auto& m : a.metrics) samples.push_back(std::move(m));
          }
          return reply(response, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                       prometheus_text(samples));
        });
  }
  if (path == "/api/cluster" || path == "/api/broker") {
    bool all = path == "/api/cluster";
    auto answer = [this, &response](caf::expected<std::vector<broker_report>> r) {
      if (!r) {
        return reply(response, 503, "Service Unavailable", "application/json",
                     fmt::format("{{\"error\":\"{}\"}}", settings_.system->render(r.error())));
      }
      return reply(response, 200, "OK", "application/json", cluster_json(*r));
    };
    if (all) {
      return ask<std::vector<broker_report>>(*settings_.system, settings_.inspector,
                                             settings_.timeout, inspect_atom::value,
                                             all_atom::value)
          .then(kj::mv(answer));
    }
    return ask<broker_report>(*settings_.system, settings_.inspector, settings_.timeout,
                              inspect_atom::value)
        .then([answer](caf::expected<broker_report> r) mutable {
          if (!r) return answer(std::move(r.error()));
          return answer(std::vector<broker_report>{std::move(*r)});
        });
  }
  if (path == "/api/trace") return trace(url, response);
  std::string want = path == "/" ? "/index.html" : std::string{path.cStr()};
  for (const auto& a : web_assets()) {
    if (want == a.path) {
      return reply(response, 200, "OK", a.content_type,
                   std::string(reinterpret_cast<const char*>(a.data), a.size));
    }
  }
  return reply(response, 404, "Not Found", "text/plain; charset=utf-8",
               "no such page: " + std::string{path.cStr()} + "\n");
}

}  // namespace actormq::broker
