#pragma once
// raw_client: speaks the Broker protocol directly (capnp EzRpcClient), for
// tests that need what the client library never sends (garbage batches,
// oversize requests) or the raw fetched bytes of both fetch paths.

#include <capnp/ez-rpc.h>
#include <kj/async-io.h>

#include <string>

#include "schema/actormq.capnp.h"

namespace actormq::test {

class raw_client {
 public:
  explicit raw_client(const std::string& address)
      : client_(address, 0, options()), broker_(client_.getMain<rpc::Broker>()) {}

  kj::WaitScope& ws() { return client_.getWaitScope(); }
  rpc::Broker::Client& broker() { return broker_; }
  kj::AsyncIoProvider& io() { return client_.getIoProvider(); }

  /// Sends one produce request; returns (error code, error message).
  std::pair<rpc::ErrorCode, std::string> produce(const std::string& topic, uint32_t partition,
                                                 const std::string& batch,
                                                 rpc::Acks acks = rpc::Acks::LEADER) {
    auto req = broker_.produceRequest();
    req.setTopic(topic);
    req.setPartition(partition);
    req.setAcks(acks);
    req.setBatch(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(batch.data()), batch.size()));
    auto resp = req.send().wait(ws());
    return {resp.getError().getCode(), std::string(resp.getError().getMessage().cStr())};
  }

 private:
  static capnp::ReaderOptions options() {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = (size_t{256} << 20) / sizeof(capnp::word);
    return o;
  }
  capnp::EzRpcClient client_;
  rpc::Broker::Client broker_;
};

}  // namespace actormq::test
