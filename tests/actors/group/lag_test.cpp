#include "actors/group/lag.h"

#include <catch2/catch.hpp>

using namespace actormq::group;
using actormq::storage::offset;

TEST_CASE("lag is the high watermark minus the committed offset") {
  auto l = compute_lag({"t", 2}, offset(40), offset(0), offset(100));
  CHECK(l.tp == topic_partition{"t", 2});
  CHECK(l.committed == offset(40));
  CHECK(l.high_watermark == offset(100));
  CHECK(l.lag == 60);
}

TEST_CASE("lag without a commit or below the log start counts from the log start") {
  CHECK(compute_lag({"t", 0}, std::nullopt, offset(30), offset(100)).lag == 70);
  CHECK(compute_lag({"t", 0}, offset(10), offset(30), offset(100)).lag == 70);
}

TEST_CASE("lag of a commit beyond the high watermark is zero") {
  CHECK(compute_lag({"t", 0}, offset(120), offset(0), offset(100)).lag == 0);
}
