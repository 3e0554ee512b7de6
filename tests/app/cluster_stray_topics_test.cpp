// Integration: a broker that was down while a topic was deleted sets the
// topic's data aside under <data>/stray/ when it returns, instead of serving
// it or deleting it (app/broker/cluster/local_topics.h).
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "cluster_fixtures.h"

using namespace actormq;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool listed_at(test::broker_process& b, const std::string& topic) {
  auto adm = client::admin::create(test::connection_to(b));
  REQUIRE(adm);
  auto list = (*adm)->list_topics();
  REQUIRE(list);
  for (auto& t : *list) {
    if (t.name == topic) return true;
  }
  return false;
}

/// Bytes in the regular files under dir.
uintmax_t bytes_under(const fs::path& dir) {
  uintmax_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

}  // namespace

TEST_CASE("a topic deleted while a broker was down is set aside under stray when it returns",
          "[app][cluster][stray]") {
  test::cluster_process c(2000);
  auto m = test::require_formed(c, 2);
  auto adm = client::admin::create(test::connection_to(c.broker(0)));
  REQUIRE(adm);
  client::topic_config cfg;
  cfg.partitions = 2;
  REQUIRE((*adm)->create_topic("doomed", cfg));
  REQUIRE((*adm)->create_topic("kept", cfg));
  (void)test::require_led(**adm, "doomed", 2);
  (void)test::require_led(**adm, "kept", 2);
  auto& away = c.broker(1);
  REQUIRE(test::eventually([&] { return listed_at(away, "doomed") && listed_at(away, "kept"); }));
  // Records in every partition of "doomed", so broker 1 holds data of it.
  client::producer_config pc;
  pc.connection = test::connection_to(c.broker(0));
  auto prod = client::producer::create(pc);
  REQUIRE(prod);
  for (uint32_t p = 0; p < 2; ++p) {
    client::producer_record rec;
    rec.topic = "doomed";
    rec.value = std::string(1000, 'x');
    rec.partition = p;
    auto r = (*prod)->send_sync(rec);
    INFO(r.err.to_string());
    REQUIRE(r.ok());
  }
  REQUIRE((*prod)->close());

  away.stop();
  REQUIRE(test::eventually(
      [&] {
        auto md = (*adm)->metadata({});
        return md && md->brokers.size() == 1 && md->controller_id == 0;
      },
      15s));
  auto deleted = (*adm)->delete_topic("doomed");
  INFO(deleted.err().to_string());
  REQUIRE(deleted);

  INFO(away.error());
  REQUIRE(away.start());
  // Set aside before the broker said it was listening: nothing to wait for.
  auto stray = away.data_dir() / "stray";
  REQUIRE(fs::is_directory(stray));
  std::vector<fs::path> moved;
  for (auto& e : fs::directory_iterator(stray)) moved.push_back(e.path());
  REQUIRE(moved.size() == 1);
  CHECK(std::regex_match(moved[0].filename().string(), std::regex("doomed-[0-9]{13}")));
  CHECK(fs::exists(moved[0] / "topic.conf"));
  CHECK(fs::is_directory(moved[0] / "0"));
  CHECK(fs::is_directory(moved[0] / "1"));
  // The partition broker 1 led kept its record (1000 bytes of value).
  CHECK(bytes_under(moved[0]) > 1000);
  CHECK_FALSE(fs::exists(away.data_dir() / "topics" / "doomed"));
  CHECK_FALSE(listed_at(away, "doomed"));
  CHECK(listed_at(away, "kept"));
  auto out = away.output();
  auto at = out.find("topic doomed is not in the cluster");
  REQUIRE(at != std::string::npos);
  auto line = out.substr(out.rfind('\n', at) + 1, at - out.rfind('\n', at));
  INFO(line);
  CHECK(line.find(" warn") != std::string::npos);  // "warning" in spdlog's level names
}
