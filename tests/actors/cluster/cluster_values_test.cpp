#include <catch2/catch.hpp>

#include "actors/cluster/broker_registration.h"
#include "actors/cluster/partition_state.h"

using namespace actormq::cluster;

TEST_CASE("a partition state survives encode and decode", "[cluster]") {
  partition_state s;
  s.leader = 2;
  s.leader_epoch = 7;
  s.replicas = {2, 0, 1};
  s.isr = {2, 0};
  CHECK(s.encode() == "leader = 2\nleader_epoch = 7\nreplicas = 2,0,1\nisr = 2,0\n");
  CHECK(partition_state::decode(s.encode()) == s);
  s.isr.clear();
  s.leader = no_broker;
  CHECK(partition_state::decode(s.encode()) == s);
}

TEST_CASE("a malformed partition state is refused", "[cluster]") {
  CHECK_FALSE(partition_state::decode("leader = 1\nleader_epoch = 0\n"));  // no replicas
  CHECK_FALSE(partition_state::decode("leader = x\nreplicas = 1\n"));
  CHECK_FALSE(partition_state::decode("leader = 1\nreplicas = 1,,2\n"));
  CHECK_FALSE(partition_state::decode("leader = 1\nleader_epoch = -3\nreplicas = 1\n"));
}

TEST_CASE("a broker registration survives encode and decode; a malformed one is refused",
          "[cluster]") {
  broker_registration r{3, "127.0.0.1:9293", "127.0.0.1:9393", 1234567890123ull};
  CHECK(broker_registration::decode(r.encode()) == r);
  CHECK_FALSE(broker_registration::decode("rpc = 127.0.0.1:1\n"));  // no id
  CHECK_FALSE(broker_registration::decode("id = -2\nrpc = a:1\n"));
  CHECK_FALSE(broker_registration::decode("id = 1\n"));  // no address
  CHECK_FALSE(broker_registration::decode("id = 1\nrpc = a:1\nincarnation = -17\n"));
  CHECK_FALSE(broker_registration::decode("id = 1\nrpc = a=b:1\n"));
  CHECK_FALSE(broker_registration::decode(std::string("id = 1\nrpc = a\0b:1\n", 19)));
  CHECK_FALSE(broker_registration::decode("id = 1\nrpc = a:1\ncluster = h\x07:2\n"));
  // The largest incarnation a broker draws still comes back.
  broker_registration big{1, "a:1", "b:2", 0x7fffffffffffffffull};
  CHECK(broker_registration::decode(big.encode()) == big);
}
