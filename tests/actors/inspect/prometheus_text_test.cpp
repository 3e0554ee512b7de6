#include "actors/inspect/prometheus_text.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include "actors/inspect/latency_histogram.h"
#include "actors/inspect/metric_catalog.h"

using namespace actormq;

TEST_CASE("prometheus_text writes HELP and TYPE once per family, families sorted", "[inspect]") {
  std::vector<metric_sample> s{
      {"actormq_partition_log_end_offset", {{"topic", "b"}, {"partition", "0"}}, 7},
      {"actormq_connections", {}, 3},
      {"actormq_partition_log_end_offset", {{"topic", "a"}, {"partition", "1"}}, 42},
  };
  auto text = prometheus_text(s);
  CHECK(text ==
        "# HELP actormq_connections Open client connections (RPC sessions).\n"
        "# TYPE actormq_connections gauge\n"
        "actormq_connections 3\n"
        "# HELP actormq_partition_log_end_offset Next offset to be appended.\n"
        "# TYPE actormq_partition_log_end_offset gauge\n"
        "actormq_partition_log_end_offset{topic=\"b\",partition=\"0\"} 7\n"
        "actormq_partition_log_end_offset{topic=\"a\",partition=\"1\"} 42\n");
}

TEST_CASE("prometheus_text escapes label values and marks unknown families untyped", "[inspect]") {
  std::vector<metric_sample> s{{"made_up", {{"topic", "a\"b\\c\nd"}}, 0.5}};
  auto text = prometheus_text(s);
  CHECK(text ==
        "# HELP made_up (not in the catalog)\n"
        "# TYPE made_up untyped\n"
        "made_up{topic=\"a\\\"b\\\\c\\nd\"} 0.5\n");
}

TEST_CASE("prometheus_value writes integers plainly and special values by name", "[inspect]") {
  CHECK(prometheus_value(12345678901234.0) == "12345678901234");
  CHECK(prometheus_value(0.25) == "0.25");
  CHECK(prometheus_value(INFINITY) == "+Inf");
  CHECK(prometheus_value(-INFINITY) == "-Inf");
  CHECK(prometheus_value(std::nan("")) == "NaN");
}

TEST_CASE("a latency histogram renders cumulative buckets, sum and count as one family",
          "[inspect]") {
  latency_histogram h;
  h.observe(std::chrono::microseconds(50));   // <= 0.0001
  h.observe(std::chrono::microseconds(300));  // <= 0.0005
  h.observe(std::chrono::seconds(20));        // +Inf only
  std::vector<metric_sample> s;
  h.samples("actormq_produce_latency_seconds", {}, s);
  auto text = prometheus_text(s);
  CHECK(text.find("# TYPE actormq_produce_latency_seconds histogram\n") != std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_bucket{le=\"0.0001\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_bucket{le=\"0.00025\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_bucket{le=\"0.0005\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_bucket{le=\"10\"} 2\n") != std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("actormq_produce_latency_seconds_sum 20.00035\n") != std::string::npos);
  // One HELP line for the whole family.
  size_t helps = 0;
  for (size_t p = text.find("# HELP"); p != std::string::npos; p = text.find("# HELP", p + 1)) {
    ++helps;
  }
  CHECK(helps == 1);
}

TEST_CASE("the metric catalog is sorted, unique and typed", "[inspect]") {
  const auto& c = metric_catalog();
  for (size_t i = 1; i < c.size(); ++i) CHECK(c[i - 1].name < c[i].name);
  for (const auto& f : c) {
    CHECK((f.type == "counter" || f.type == "gauge" || f.type == "histogram"));
    CHECK(!f.help.empty());
    if (f.type == "counter") CHECK(f.name.substr(f.name.size() - 6) == "_total");
  }
  CHECK(find_metric_family("actormq_fetch_latency_seconds_bucket") != nullptr);
  CHECK(find_metric_family("actormq_connections_bucket") == nullptr);
}

TEST_CASE("docs/inspector.md lists every metric of the catalog", "[inspect]") {
  std::ifstream in(std::string(ACTORMQ_DOCS_DIR) + "/inspector.md");
  REQUIRE(in);
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& f : metric_catalog()) {
    INFO(f.name);
    CHECK(doc.find("| `" + std::string(f.name) + "` | " + std::string(f.type) + " |") !=
          std::string::npos);
  }
}
