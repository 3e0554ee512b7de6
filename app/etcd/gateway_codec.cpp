#include "app/etcd/gateway_codec.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <kj/encoding.h>

#include <charconv>
#include <cmath>
#include <optional>

#include "app/etcd/json_writer.h"

namespace actormq::etcd::gateway {
namespace {

using json = capnp::JsonValue;

// ---- encoding -------------------------------------------------------------

const char* compare_target_name(compare::target t) {
  switch (t) {
    case compare::target::value:
      return "VALUE";
    case compare::target::version:
      return "VERSION";
    case compare::target::create_revision:
      return "CREATE";
    case compare::target::mod_revision:
      return "MOD";
    case compare::target::lease:
      return "LEASE";
  }
  return "VERSION";
}

const char* compare_op_name(compare::op o) {
  switch (o) {
    case compare::op::equal:
      return "EQUAL";
    case compare::op::not_equal:
      return "NOT_EQUAL";
    case compare::op::greater:
      return "GREATER";
    case compare::op::less:
      return "LESS";
  }
  return "EQUAL";
}

// The member of Compare's target_union that goes with the target.
const char* compare_field_name(compare::target t) {
  switch (t) {
    case compare::target::value:
      return "value";
    case compare::target::version:
      return "version";
    case compare::target::create_revision:
      return "create_revision";
    case compare::target::mod_revision:
      return "mod_revision";
    case compare::target::lease:
      return "lease";
  }
  return "version";
}

void write_range_fields(json_writer& w, std::string_view key, std::string_view range_end) {
  w.bytes_member("key", key);
  if (!range_end.empty()) w.bytes_member("range_end", range_end);
}

void write_op(json_writer& w, const txn_op& op) {
  w.begin_object();
  switch (op.what) {
    case txn_op::kind::put:
      w.key("request_put").begin_object();
      w.bytes_member("key", op.key).bytes_member("value", op.value);
      if (op.lease.value() != 0) w.int64_member("lease", op.lease.value());
      w.end_object();
      break;
    case txn_op::kind::range:
      w.key("request_range").begin_object();
      write_range_fields(w, op.key, op.range_end);
      w.end_object();
      break;
    case txn_op::kind::erase:
      w.key("request_delete_range").begin_object();
      write_range_fields(w, op.key, op.range_end);
      w.end_object();
      break;
  }
  w.end_object();
}

// ---- decoding -------------------------------------------------------------

// A view of a JSON object that reads etcd's fields with their defaults. The
// first type mismatch is recorded in *problem (and defaults are returned), so
// a decoder reads every field it needs and checks once at the end.
class fields {
 public:
  fields(std::optional<json::Reader> obj, std::string* problem) : problem_(problem) {
    if (obj && obj->isObject()) {
      obj_ = obj->getObject();
    } else if (obj && !obj->isNull()) {
      fail("expected an object");
    }
  }

  std::optional<json::Reader> find(std::string_view name) const {
    for (auto f : obj_) {
      auto n = f.getName();
      if (std::string_view(n.cStr(), n.size()) == name) return f.getValue();
    }
    return std::nullopt;
  }
  bool has(std::string_view name) const { return find(name).has_value(); }

  fields object(std::string_view name) const { return fields(find(name), problem_); }

  /// A protobuf int64: a JSON string of digits (or a number, accepted too).
  int64_t int64(std::string_view name) const {
    auto v = find(name);
    if (!v) return 0;
    if (v->isString()) {
      auto s = v->getString();
      int64_t out = 0;
      auto [p, ec] = std::from_chars(s.begin(), s.end(), out);
      if (ec != std::errc() || p != s.end()) fail(std::string(name) + " is not an integer");
      return out;
    }
    if (v->isNumber()) {
      double d = v->getNumber();
      if (d != std::floor(d)) fail(std::string(name) + " is not an integer");
      return static_cast<int64_t>(d);
    }
    fail(std::string(name) + " is not an integer");
    return 0;
  }

  bool boolean(std::string_view name) const {
    auto v = find(name);
    if (!v) return false;
    if (!v->isBoolean()) {
      fail(std::string(name) + " is not a boolean");
      return false;
    }
    return v->getBoolean();
  }

  std::string string(std::string_view name) const {
    auto v = find(name);
    if (!v) return {};
    if (!v->isString()) {
      fail(std::string(name) + " is not a string");
      return {};
    }
    auto s = v->getString();
    return std::string(s.cStr(), s.size());
  }

  /// A protobuf bytes field: base64 in a JSON string.
  std::string bytes(std::string_view name) const {
    auto v = find(name);
    if (!v) return {};
    if (!v->isString()) {
      fail(std::string(name) + " is not a string");
      return {};
    }
    auto s = v->getString();
    auto decoded = kj::decodeBase64(s.asArray());
    if (decoded.hadErrors) fail(std::string(name) + " is not base64");
    return std::string(reinterpret_cast<const char*>(decoded.begin()), decoded.size());
  }

  /// The elements of an array member (none when absent).
  std::vector<json::Reader> array(std::string_view name) const {
    std::vector<json::Reader> out;
    auto v = find(name);
    if (!v) return out;
    if (!v->isArray()) {
      fail(std::string(name) + " is not an array");
      return out;
    }
    for (auto e : v->getArray()) out.push_back(e);
    return out;
  }

  std::string* problem() const { return problem_; }

  void fail(std::string what) const {
    if (problem_->empty()) *problem_ = std::move(what);
  }

 private:
  capnp::List<json::Field>::Reader obj_;
  std::string* problem_;
};

// Parses body into msg; returns the root or records the parse error.
std::optional<json::Reader> parse(std::string_view body, capnp::MallocMessageBuilder& msg,
                                  std::string* problem) {
  auto root = msg.initRoot<json>();
  // JsonCodec reports malformed input by throwing kj::Exception; this is the
  // one place it is turned into a value.
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 capnp::JsonCodec codec;
                 codec.decodeRaw(kj::arrayPtr(body.data(), body.size()), root);
               })) {
    *problem = "bad JSON: " + std::string(e->getDescription().cStr());
    return std::nullopt;
  }
  return root.asReader();
}

revision header_revision(const fields& f) {
  return revision{f.object("header").int64("revision")};
}

key_value read_kv(const fields& f) {
  key_value kv;
  kv.key = f.bytes("key");
  kv.value = f.bytes("value");
  kv.create_revision = revision{f.int64("create_revision")};
  kv.mod_revision = revision{f.int64("mod_revision")};
  kv.version = f.int64("version");
  kv.lease = lease_id{f.int64("lease")};
  return kv;
}

range_result read_range(const fields& f) {
  range_result r;
  r.header_revision = header_revision(f);
  for (auto e : f.array("kvs")) r.kvs.push_back(read_kv(fields(e, f.problem())));
  r.count = f.int64("count");
  return r;
}

template <typename T>
result<T> finish(T value, const std::string& problem, std::string_view body) {
  if (!problem.empty()) {
    return make_error(errc::protocol_error, problem + " in " + std::string(body.substr(0, 200)));
  }
  return value;
}

// Streaming methods wrap each message: {"result":{...}} or {"error":{...}}.
std::optional<error> stream_error(const fields& top) {
  auto e = top.find("error");
  if (!e) return std::nullopt;
  fields ef(e, top.problem());
  auto message = ef.string("message");
  auto code = ef.int64("grpc_code");
  if (code == 5 && message.find("lease not found") != std::string::npos) {
    return make_error(errc::lease_not_found, message);
  }
  if (code == 14) return make_error(errc::unavailable, message);
  return make_error(errc::request_failed, message);
}

}  // namespace

std::string encode_range(std::string_view key, std::string_view range_end) {
  json_writer w;
  w.begin_object();
  write_range_fields(w, key, range_end);
  w.end_object();
  return w.take();
}

std::string encode_put(std::string_view key, std::string_view value, lease_id lease) {
  json_writer w;
  w.begin_object().bytes_member("key", key).bytes_member("value", value);
  if (lease.value() != 0) w.int64_member("lease", lease.value());
  w.end_object();
  return w.take();
}

std::string encode_delete_range(std::string_view key, std::string_view range_end) {
  return encode_range(key, range_end);
}

std::string encode_txn(const std::vector<compare>& compares, const std::vector<txn_op>& success,
                       const std::vector<txn_op>& failure) {
  json_writer w;
  w.begin_object();
  w.key("compare").begin_array();
  for (auto& c : compares) {
    w.begin_object();
    w.string_member("result", compare_op_name(c.cmp));
    w.string_member("target", compare_target_name(c.what));
    w.bytes_member("key", c.key);
    if (c.what == compare::target::value) {
      w.bytes_member("value", c.value);
    } else {
      w.int64_member(compare_field_name(c.what), c.number);
    }
    w.end_object();
  }
  w.end_array();
  w.key("success").begin_array();
  for (auto& op : success) write_op(w, op);
  w.end_array();
  w.key("failure").begin_array();
  for (auto& op : failure) write_op(w, op);
  w.end_array();
  w.end_object();
  return w.take();
}

std::string encode_lease_grant(int64_t ttl_seconds) {
  json_writer w;
  w.begin_object().int64_member("TTL", ttl_seconds).end_object();
  return w.take();
}

std::string encode_lease_id(lease_id id) {
  json_writer w;
  w.begin_object().int64_member("ID", id.value()).end_object();
  return w.take();
}

std::string encode_watch_create(std::string_view key, std::string_view range_end,
                                const watch_options& options) {
  json_writer w;
  w.begin_object().key("create_request").begin_object();
  write_range_fields(w, key, range_end);
  if (options.start_revision.value() > 0) {
    w.int64_member("start_revision", options.start_revision.value());
  }
  if (options.prev_kv) w.key("prev_kv").boolean(true);
  w.end_object().end_object();
  return w.take();
}

result<put_result> decode_put(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  put_result r;
  r.header_revision = header_revision(f);
  return finish(std::move(r), problem, body);
}

result<range_result> decode_range(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  return finish(read_range(f), problem, body);
}

result<erase_result> decode_delete_range(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  erase_result r;
  r.header_revision = header_revision(f);
  r.deleted = f.int64("deleted");
  return finish(std::move(r), problem, body);
}

result<txn_result> decode_txn(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  txn_result r;
  r.header_revision = header_revision(f);
  r.succeeded = f.boolean("succeeded");  // absent when the compares failed
  for (auto e : f.array("responses")) {
    fields op(e, &problem);
    txn_response resp;
    if (auto range = op.find("response_range")) {
      resp.what = txn_op::kind::range;
      resp.range = read_range(fields(range, &problem));
      resp.header_revision = resp.range.header_revision;
    } else if (auto put = op.find("response_put")) {
      resp.what = txn_op::kind::put;
      resp.header_revision = header_revision(fields(put, &problem));
    } else if (auto del = op.find("response_delete_range")) {
      fields d(del, &problem);
      resp.what = txn_op::kind::erase;
      resp.header_revision = header_revision(d);
      resp.deleted = d.int64("deleted");
    } else {
      op.fail("txn response of unknown kind");
    }
    r.responses.push_back(std::move(resp));
  }
  return finish(std::move(r), problem, body);
}

result<lease_grant_result> decode_lease_grant(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  lease_grant_result r;
  r.header_revision = header_revision(f);
  r.id = lease_id{f.int64("ID")};
  r.ttl = std::chrono::seconds(f.int64("TTL"));
  if (auto e = f.string("error"); !e.empty()) return make_error(errc::request_failed, e);
  if (problem.empty() && r.id.value() == 0) problem = "lease grant without an ID";
  return finish(std::move(r), problem, body);
}

result<lease_keepalive_result> decode_lease_keepalive(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields top(parse(body, msg, &problem), &problem);
  if (auto e = stream_error(top)) return *e;
  if (problem.empty() && !top.has("result")) problem = "keepalive answer without a result";
  fields f = top.object("result");
  lease_keepalive_result r;
  r.header_revision = header_revision(f);
  r.ttl = std::chrono::seconds(f.int64("TTL"));
  if (!problem.empty()) return finish(std::move(r), problem, body);
  if (r.ttl.count() <= 0) {
    return make_error(errc::lease_not_found,
                      "lease " + std::to_string(f.int64("ID")) + " has no TTL left");
  }
  return r;
}

result<lease_revoke_result> decode_lease_revoke(std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  lease_revoke_result r;
  r.header_revision = header_revision(f);
  return finish(std::move(r), problem, body);
}

error decode_http_error(unsigned status, std::string_view body) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields f(parse(body, msg, &problem), &problem);
  auto message = f.string("message");
  if (message.empty()) message = f.string("error");
  auto code = f.int64("code");
  if (!problem.empty() || message.empty()) {
    return make_error(errc::request_failed,
                      "HTTP " + std::to_string(status) + ": " + std::string(body.substr(0, 200)));
  }
  // gRPC codes: 4 DeadlineExceeded, 5 NotFound, 11 OutOfRange, 14 Unavailable.
  if (code == 5 && message.find("lease not found") != std::string::npos) {
    return make_error(errc::lease_not_found, message);
  }
  if (code == 11 && message.find("compacted") != std::string::npos) {
    return make_error(errc::compacted, message);
  }
  if (code == 14) return make_error(errc::unavailable, message);
  if (code == 4) return make_error(errc::timeout, message);
  return make_error(errc::request_failed, "HTTP " + std::to_string(status) + ": " + message);
}

result<watch_message> decode_watch_message(std::string_view line) {
  capnp::MallocMessageBuilder msg;
  std::string problem;
  fields top(parse(line, msg, &problem), &problem);
  if (auto e = stream_error(top)) return *e;
  if (problem.empty() && !top.has("result")) problem = "watch message without a result";
  fields f = top.object("result");
  watch_message m;
  m.created = f.boolean("created");
  m.canceled = f.boolean("canceled");
  m.compact_revision = revision{f.int64("compact_revision")};
  m.cancel_reason = f.string("cancel_reason");
  m.update.header_revision = header_revision(f);
  for (auto e : f.array("events")) {
    fields ef(e, &problem);
    watch_event ev;
    auto type = ef.string("type");  // absent for PUT, the enum's default
    if (type == "DELETE") {
      ev.what = watch_event::type::erase;
    } else if (!type.empty() && type != "PUT") {
      ef.fail("unknown event type " + type);
    }
    ev.kv = read_kv(ef.object("kv"));
    if (ef.has("prev_kv")) ev.prev_kv = read_kv(ef.object("prev_kv"));
    m.update.events.push_back(std::move(ev));
  }
  return finish(std::move(m), problem, line);
}

}  // namespace actormq::etcd::gateway
