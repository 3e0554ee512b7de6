// Integration: today's broker started on a data dir written by the previous
// release (tests/fixtures/README.md) keeps its committed group offsets
// (moved into __consumer_offsets on start) and its pending delayed message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "fixtures.h"
#include "subprocess.h"

#ifndef ACTORMQ_FIXTURES_DIR
#error "ACTORMQ_FIXTURES_DIR must name tests/fixtures"
#endif

using namespace actormq;
using namespace std::chrono_literals;

namespace {

std::vector<int64_t> committed(const test::broker_process& b, const std::string& group,
                               const std::vector<client::topic_partition>& tps) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto r = (*adm)->fetch_offsets(group, tps);
  INFO(r.err().to_string());
  REQUIRE(r);
  std::vector<int64_t> out;
  for (const auto& o : *r) out.push_back(o.offset);
  return out;
}

}  // namespace

TEST_CASE("a data dir of the previous release keeps its group offsets and pending delay",
          "[app][upgrade][group]") {
  test::temp_dir dir;
  auto untar = test::run_subprocess(
      {"/bin/tar", "xzf", std::string(ACTORMQ_FIXTURES_DIR) + "/data-2d14f50.tar.gz", "-C",
       dir.path().string()},
      {}, 30s);
  INFO(untar.err);
  REQUIRE(untar.exit_code == 0);
  auto data = dir.path() / "data";
  REQUIRE(std::filesystem::exists(data / "groups" / "billing" / "offsets.log"));

  test::broker_process broker(data, {});
  test::require_started(broker);
  const std::vector<client::topic_partition> orders{{"orders", 0}, {"orders", 1}};
  CHECK(committed(broker, "billing", orders) == std::vector<int64_t>{6, -1});
  CHECK(committed(broker, "auditors", {{"audit", 0}}) == std::vector<int64_t>{5});
  // Moved: the old files are gone once __consumer_offsets has them.
  CHECK_FALSE(std::filesystem::exists(data / "groups" / "billing"));
  CHECK_FALSE(std::filesystem::exists(data / "groups" / "auditors"));

  // The group resumes where it was: 7..10 on orders/0, then the delayed
  // message (due 2026-12-02T02:00:00Z, long past) wherever it landed.
  {
    auto c = client::consumer::create(test::group_config(broker, "billing"));
    REQUIRE(c);
    REQUIRE((*c)->subscribe({"orders"}));
    std::vector<std::string> seen;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen.size() < 5 && std::chrono::steady_clock::now() < deadline) {
      auto r = (*c)->poll(200ms);
      if (!r) continue;
      for (const auto& m : *r) seen.push_back(m.value.value_or(""));
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"10", "7", "8", "9", "delayed-one"});
    REQUIRE((*c)->commit_sync());
    (void)(*c)->close();
  }
  auto after = committed(broker, "billing", orders);

  // A restart reads the offsets back from __consumer_offsets alone.
  REQUIRE(broker.restart());
  CHECK(committed(broker, "billing", orders) == after);
  // orders/0 held 10 messages; the delayed one landed on one of the two.
  CHECK(after[0] + std::max<int64_t>(after[1], 0) == 11);
  CHECK(committed(broker, "auditors", {{"audit", 0}}) == std::vector<int64_t>{5});
}
